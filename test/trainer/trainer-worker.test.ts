/**
 * Trainer workers against a real hub: real `edgefleet trainer` processes (built CLI in dist/) run a
 * script job end to end with examples/script-node, survive a SIGKILLed worker (a second worker
 * finishes; the first attempt is `lost`), stop a cancelled script's whole process group, refuse a
 * script that writes no model; and the in-hub worker trains a built-in recipe with no setup.
 * Runs are routed to the intended worker with compute labels. A short lease keeps this quick.
 */
import { execFileSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnAgent } from "../../lib/agent-process.js";
import { projectRoot } from "../../lib/paths.js";
import type { TrainerProcess } from "../../lib/trainer-process.js";
import { createSnapshot } from "../../trainer/snapshot.js";
import { blobs } from "../../training/synthetic.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { startTestTrainer, type TestTrainer } from "../support/trainer.js";
import { waitFor } from "../support/wait.js";

interface Attempt {
  n: number;
  workerId: string;
  status: string;
  error?: { code: string; message: string };
}
interface Run {
  id: string;
  status: string;
  attempts: Attempt[];
  error?: { code: string; message: string };
  outputs?: { model?: { name: string; version: number }; parity?: { ok: boolean } };
  metrics?: { test?: Record<string, number> };
}

const WAIT_MS = 120_000;
const example = join(projectRoot(), "examples", "script-node");
let hub: TestHub;
let dir: string;
const trainers: TrainerProcess[] = [];
/** Sleep processes the scripts started; killed at the end whatever happened. */
const sleepPids: number[] = [];

function csv(rows: Record<string, unknown>[]): string {
  const columns = Object.keys(rows[0]!);
  return `${columns.join(",")}\n${rows.map((r) => columns.map((c) => r[c] ?? "").join(",")).join("\n")}\n`;
}

async function uploadDataset(target: TestHub, name: string): Promise<void> {
  await target.client.request(
    "POST",
    `/api/v1/datasets/${name}/versions?format=csv&target=label&task=classification`,
    new TextEncoder().encode(csv(blobs(150, 3))),
    { "content-type": "text/csv" },
  );
}

async function uploadSnapshot(folder: string): Promise<string> {
  const bytes = await createSnapshot(folder);
  const { sha256 } = await hub.client.request<{ sha256: string }>(
    "POST",
    "/api/v1/snapshots",
    new Uint8Array(bytes),
    {
      "content-type": "application/gzip",
    },
  );
  return sha256;
}

function submitScript(
  experiment: string,
  snapshot: string,
  command: string,
  pool: string,
  params: object = {},
) {
  return hub.client.post<Run>("/api/v1/runs", {
    experiment,
    dataset: { name: "blobs" },
    task: "classification",
    target: "label",
    recipe: "script",
    script: { snapshot, command },
    params,
    compute: { labels: { pool } },
  });
}

function waitRun(target: TestHub, id: string, done: (run: Run) => boolean, what: string): Promise<Run> {
  return waitFor(
    `run ${id} ${what}`,
    async () => {
      const run = await target.client.get<Run>(`/api/v1/runs/${id}`);
      return done(run) ? run : undefined;
    },
    WAIT_MS,
    200,
  );
}

/**
 * A script folder whose first attempt starts a long `sleep` (its pid on stdout) and waits on it.
 * The pid goes through the run's logs: the script's environment is an allow-list and, on a root
 * worker, it runs as another user, so it has no folder of the test's to write into.
 */
async function slowScriptFolder(name: string): Promise<string> {
  const folder = join(dir, name);
  await mkdir(folder, { recursive: true });
  await copyFile(join(example, "train.mjs"), join(folder, "train.mjs"));
  await writeFile(
    join(folder, "run.sh"),
    [
      'echo "attempt $EDGEFLEET_ATTEMPT starting"',
      'if [ "$EDGEFLEET_ATTEMPT" = "1" ]; then',
      "  sleep 300 &",
      '  echo "sleep-pid $!"',
      '  echo "EDGEFLEET_PROGRESS 1/2 sleeping"',
      "  wait",
      "fi",
      "exec node train.mjs",
      "",
    ].join("\n"),
  );
  return folder;
}

/** Alive and not a zombie. */
async function alive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat !== "" && !/^\d+ \(.*\) Z/.test(stat);
}

async function sleepPid(runId: string): Promise<number> {
  const pid = await waitFor(
    `run ${runId}'s script to start its sleep`,
    async () => {
      const { lines } = await hub.client.get<{ lines: { stream: string; text: string }[] }>(
        `/api/v1/runs/${runId}/logs?limit=1000`,
      );
      const line = lines.find((l) => l.stream === "stdout" && l.text.startsWith("sleep-pid "));
      return line ? Number(line.text.slice("sleep-pid ".length)) || undefined : undefined;
    },
    WAIT_MS,
  );
  sleepPids.push(pid);
  return pid;
}

async function trainer(labels: Record<string, string>, dataDir?: string): Promise<TestTrainer> {
  const worker = await startTestTrainer(hub, {
    labels,
    ...(dataDir ? { dataDir } : {}),
  });
  trainers.push(worker);
  return worker;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgefleet-trainer-test-"));
  hub = await startTestHub({ trainerLeaseMs: 1500 });
  await uploadDataset(hub, "blobs");
});

afterAll(async () => {
  await Promise.all(trainers.map((t) => t.stop("SIGKILL")));
  for (const pid of sleepPids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  await hub?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("script jobs on worker processes", { timeout: 240_000 }, () => {
  it("runs examples/script-node end to end: logs, metrics, progress, a registered model with parity", async () => {
    const worker = await trainer({ pool: "a" });
    const snapshot = await uploadSnapshot(example);
    const submitted = await submitScript("script-node", snapshot, "node train.mjs", "a", { epochs: 60 });
    const run = await waitRun(
      hub,
      submitted.id,
      (r) => ["succeeded", "failed"].includes(r.status),
      "to finish",
    );
    expect(run.status, JSON.stringify(run.error ?? run.attempts)).toBe("succeeded");
    expect(run.attempts).toMatchObject([{ n: 1, workerId: worker.id, status: "succeeded" }]);
    expect(run.outputs?.model).toEqual({ name: "script-node", version: 1 });
    expect(run.outputs?.parity?.ok).toBe(true);
    expect(run.metrics?.test?.accuracy).toBeGreaterThan(0.9);

    const { lines } = await hub.client.get<{ lines: { stream: string; text: string }[] }>(
      `/api/v1/runs/${run.id}/logs?limit=1000`,
    );
    const stdout = lines.filter((l) => l.stream === "stdout").map((l) => l.text);
    expect(stdout.some((t) => t.startsWith("classification on 150 rows, 3 features, 3 output(s)"))).toBe(
      true,
    );
    expect(stdout.some((t) => t.startsWith("wrote "))).toBe(true);
    expect(lines.some((l) => l.stream === "system" && l.text === "$ node train.mjs")).toBe(true);

    const { series } = await hub.client.get<{ series: Record<string, { step: number; value: number }[]> }>(
      `/api/v1/runs/${run.id}/metrics`,
    );
    expect(series.train_loss?.map((p) => p.step)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(series.train_loss!.at(-1)!.value).toBeLessThan(series.train_loss![0]!.value);
    expect(series.validation_loss).toHaveLength(6);
    expect(series.test_accuracy).toHaveLength(1);

    const version = await hub.client.get<{ lineage: Record<string, unknown> }>(
      "/api/v1/models/script-node/versions/1",
    );
    expect(version.lineage).toMatchObject({
      run: run.id,
      attempt: 1,
      recipe: "script",
      snapshot,
      worker: worker.id,
    });
  });

  // examples/pytorch-tabular needs PyTorch and onnx: Debian's python3-torch runs with /usr/bin/python3.
  const torchError = (() => {
    try {
      execFileSync("/usr/bin/python3", ["-c", "import torch, onnx"], { stdio: "pipe", timeout: 60_000 });
      return undefined;
    } catch (error) {
      return String((error as Error).message).split("\n")[0];
    }
  })();
  if (torchError)
    console.warn(
      `skipping the PyTorch example: /usr/bin/python3 cannot import torch and onnx (${torchError})`,
    );
  it.skipIf(torchError !== undefined)(
    "runs examples/pytorch-tabular end to end: torch MLP, torch.onnx.export, registered with lineage and parity, packaged, served by an agent",
    async () => {
      const worker = await trainer({ pool: "a" });
      const folder = join(projectRoot(), "examples", "pytorch-tabular");
      const snapshot = await uploadSnapshot(folder);
      const submitted = await submitScript("pytorch-tabular", snapshot, "/usr/bin/python3 train.py", "a", {
        epochs: 60,
        hidden: [16],
        lr: 0.01,
      });
      const run = await waitRun(
        hub,
        submitted.id,
        (r) => ["succeeded", "failed"].includes(r.status),
        "to finish",
      );
      expect(run.status, JSON.stringify(run.error ?? run.attempts)).toBe("succeeded");
      expect(run.outputs?.model).toEqual({ name: "pytorch-tabular", version: 1 });
      expect(run.outputs?.parity?.ok).toBe(true);
      expect(run.metrics?.test?.accuracy).toBeGreaterThan(0.9);
      const { lines } = await hub.client.get<{ lines: { stream: string; text: string }[] }>(
        `/api/v1/runs/${run.id}/logs?limit=1000`,
      );
      // No GPU asked for: the worker hides any it has; this machine trains on the CPU.
      expect(lines.some((l) => l.stream === "stdout" && / device cpu; /.test(l.text))).toBe(true);
      const version = await hub.client.get<{ lineage: Record<string, unknown> }>(
        "/api/v1/models/pytorch-tabular/versions/1",
      );
      // Any of the suite's live workers may claim it (an earlier test's worker is still polling).
      expect(version.lineage).toMatchObject({
        run: run.id,
        recipe: "script",
        snapshot,
        worker: expect.stringMatching(/^trainer-/),
      });

      // Packaged, deployed and served by an agent process: it answers with the blobs' classes.
      const module = await hub.client.post<{ version: string }>(
        "/api/v1/models/pytorch-tabular/versions/1/package",
        {},
      );
      const { secret } = await hub.client.post<{ secret: string }>("/api/v1/devices", {
        id: "torch-1",
        tags: { fleet: "torch" },
      });
      const agent = await spawnAgent({
        hubUrl: hub.url,
        mqttUrl: hub.mqttUrl,
        deviceId: "torch-1",
        secret,
        trustKey: hub.parts.signing.publicKeyPem,
      });
      try {
        await hub.client.post("/api/v1/deployments", {
          module: "pytorch-tabular",
          version: module.version,
          selector: { tags: { fleet: "torch" } },
        });
        const rows = blobs(30, 9);
        const answer = await waitFor(
          "the agent to serve pytorch-tabular",
          async () => {
            const response = await fetch(`${agent.scoringUrl}/v1/modules/pytorch-tabular/score`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ instances: rows.map(({ label: _, ...features }) => features) }),
            });
            return response.status === 200
              ? ((await response.json()) as { version: string; predictions: { label: string }[] })
              : undefined;
          },
          WAIT_MS,
          200,
        );
        expect(answer.version).toBe(module.version);
        const right = answer.predictions.filter((p, i) => p.label === rows[i]!.label).length;
        expect(right / rows.length).toBeGreaterThan(0.9);
      } finally {
        await agent.stop();
      }
    },
  );

  it("fails a script that writes no model, once, with a message that says what to do", async () => {
    await trainer({ pool: "nomodel" });
    const snapshot = await uploadSnapshot(example);
    const submitted = await submitScript("no-model", snapshot, "echo trained nothing", "nomodel");
    const run = await waitRun(
      hub,
      submitted.id,
      (r) => ["succeeded", "failed"].includes(r.status),
      "to finish",
    );
    expect(run.status).toBe("failed");
    expect(run.attempts).toHaveLength(1);
    expect(run.error?.code).toBe("no_model");
    expect(run.error?.message).toContain("$EDGEFLEET_OUTPUT_DIR/model.onnx");
  });

  it("a second worker finishes the run of a SIGKILLed worker; the first attempt is lost; a restart kills the orphan", async () => {
    const first = await trainer({ pool: "b" });
    const snapshot = await uploadSnapshot(await slowScriptFolder("slow-b"));
    const submitted = await submitScript("survivor", snapshot, "sh run.sh", "b", { epochs: 20 });
    const orphan = await sleepPid(submitted.id);
    // Killed as a machine failure would: no chance to hand the attempt back (its folder stays).
    await new Promise((resolve) => {
      first.child.once("exit", resolve);
      first.child.kill("SIGKILL");
    });

    const second = await trainer({ pool: "b" });
    const run = await waitRun(
      hub,
      submitted.id,
      (r) => ["succeeded", "failed"].includes(r.status),
      "to finish",
    );
    expect(run.status, JSON.stringify(run.error ?? run.attempts)).toBe("succeeded");
    expect(run.attempts).toMatchObject([
      { n: 1, workerId: first.id, status: "lost" },
      { n: 2, workerId: second.id, status: "succeeded" },
    ]);
    expect(run.outputs?.model).toEqual({ name: "survivor", version: 1 });

    // The killed worker could not stop its script; started again on its folder, it does.
    expect(await alive(orphan)).toBe(true);
    await trainer({ pool: "b-restarted" }, first.dataDir);
    await waitFor("the orphaned script to be killed", async () => !(await alive(orphan)), WAIT_MS);
  });

  it("cancelling a running script kills its process group and cancels the run", async () => {
    await trainer({ pool: "c" });
    const snapshot = await uploadSnapshot(await slowScriptFolder("slow-c"));
    const submitted = await submitScript("cancelled", snapshot, "sh run.sh", "c");
    const sleeping = await sleepPid(submitted.id);
    await waitRun(hub, submitted.id, (r) => r.status === "running", "to run");
    expect(await alive(sleeping)).toBe(true);

    await hub.client.post(`/api/v1/runs/${submitted.id}/cancel`);
    const run = await waitRun(hub, submitted.id, (r) => r.status === "cancelled", "to be cancelled");
    expect(run.attempts).toMatchObject([{ n: 1, status: "cancelled" }]);
    await waitFor("the script's sleep to be killed", async () => !(await alive(sleeping)), 30_000);
  });
});

describe("built-in jobs on a worker process", { timeout: 240_000 }, () => {
  const submitBuiltin = (experiment: string, recipe: string, params: object = {}) =>
    hub.client.post<Run>("/api/v1/runs", {
      experiment,
      dataset: { name: "blobs" },
      task: "classification",
      target: "label",
      recipe,
      params,
      compute: { labels: { pool: "builtin" } },
    });

  it("trains in a worker thread, reports per-iteration metrics, and a cancel terminates the thread", async () => {
    await trainer({ pool: "builtin" });
    const trained = await submitBuiltin("thread-gbt", "gbt", { nEstimators: 20 });
    const done = await waitRun(
      hub,
      trained.id,
      (r) => ["succeeded", "failed"].includes(r.status),
      "to finish",
    );
    expect(done.status, JSON.stringify(done.error ?? done.attempts)).toBe("succeeded");
    expect(done.outputs?.model).toEqual({ name: "thread-gbt", version: 1 });
    const { lines } = await hub.client.get<{ lines: { text: string }[] }>(
      `/api/v1/runs/${done.id}/logs?limit=1000`,
    );
    expect(lines.map((l) => l.text)).toEqual(
      expect.arrayContaining(["training in a worker thread", "phase: evaluated"]),
    );

    // Long enough to be cancelled mid-fit: 10 000 epochs without early stopping.
    const long = await submitBuiltin("thread-cancel", "mlp", {
      epochs: 10_000,
      patience: 0,
      hidden: [64, 64],
    });
    await waitFor(
      "the long fit to report metrics",
      async () => {
        const { series } = await hub.client.get<{ series: Record<string, unknown[]> }>(
          `/api/v1/runs/${long.id}/metrics`,
        );
        return (series.trainLoss?.length ?? 0) > 0;
      },
      WAIT_MS,
      200,
    );
    await hub.client.post(`/api/v1/runs/${long.id}/cancel`);
    const cancelled = await waitRun(
      hub,
      long.id,
      (r) => ["cancelled", "succeeded", "failed"].includes(r.status),
      "to stop",
    );
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.attempts).toMatchObject([{ n: 1, status: "cancelled" }]);
  });
});

describe("stopping a worker", { timeout: 240_000 }, () => {
  it("SIGTERM hands the running attempt back (failed, retryable) and stops its script", async () => {
    const worker = await trainer({ pool: "d" });
    const snapshot = await uploadSnapshot(await slowScriptFolder("slow-d"));
    const submitted = await submitScript("handed-back", snapshot, "sh run.sh", "d");
    const sleeping = await sleepPid(submitted.id);
    await worker.stop("SIGTERM");
    expect(worker.child.exitCode).toBe(0);
    const run = await waitRun(hub, submitted.id, (r) => r.status === "queued", "to be requeued");
    expect(run.attempts).toMatchObject([{ n: 1, status: "failed", error: { code: "worker_stopped" } }]);
    expect(await alive(sleeping)).toBe(false);
    await hub.client.post(`/api/v1/runs/${submitted.id}/cancel`);
  });
});

describe("the in-hub worker", { timeout: 180_000 }, () => {
  let ownHub: TestHub | undefined;
  afterAll(async () => {
    await ownHub?.dispose();
  });

  it("trains a built-in recipe with no setup beyond the hub", async () => {
    ownHub = await startTestHub({ trainer: true });
    await uploadDataset(ownHub, "blobs");
    const submitted = await ownHub.client.post<Run>("/api/v1/runs", {
      experiment: "in-hub",
      dataset: { name: "blobs" },
      task: "classification",
      target: "label",
      recipe: "logistic",
    });
    const run = await waitRun(
      ownHub,
      submitted.id,
      (r) => ["succeeded", "failed"].includes(r.status),
      "to finish",
    );
    expect(run.status, JSON.stringify(run.error ?? run.attempts)).toBe("succeeded");
    expect(run.outputs?.model).toEqual({ name: "in-hub", version: 1 });
    expect(run.metrics?.test?.macroF1).toBeGreaterThan(0.9);
    const { workers } = await ownHub.client.get<{
      workers: { id: string; name: string; capabilities: { labels: Record<string, string> } }[];
    }>("/api/v1/workers");
    expect(workers).toHaveLength(1);
    expect(workers[0]).toMatchObject({
      id: run.attempts[0]!.workerId,
      name: "in-hub",
      capabilities: { labels: { "edgefleet.in-hub": "true" } },
    });
    const { series } = await ownHub.client.get<{ series: Record<string, unknown[]> }>(
      `/api/v1/runs/${run.id}/metrics`,
    );
    expect(series.trainLoss?.length).toBeGreaterThan(0);
  });
});

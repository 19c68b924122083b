/**
 * The training API against a real hub (PGlite, onnxruntime): datasets, run submission, and this
 * test acting as a trainer worker with plain fetch (register, claim, heartbeat, logs, metrics,
 * model upload, complete), with models trained by training's train() in this process.
 * The lease is 1 s so expiry is quick; steps that outlast it keep it alive with heartbeats.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runOnnx } from "../../training/evaluate/onnx-check.js";
import { type Dataset, loadRunDataset, type TrainResult, testSplit, train } from "../../training/index.js";
import { separableBinary } from "../../training/synthetic.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { waitFor } from "../support/wait.js";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are probed field by field.
type Json = Record<string, any>;

let hub: TestHub;
const LEASE_MS = 1000;
const MAX_DATASET_BYTES = 64 * 1024;

const rows = separableBinary(160, 7);
const jsonl = new TextEncoder().encode(`${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${hub.adminToken}`, ...headers } };
  if (body instanceof Uint8Array) {
    init.body = body;
    (init.headers as Record<string, string>)["content-type"] ??= "application/octet-stream";
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  const response = await fetch(`${hub.url}${path}`, init);
  const text = await response.text();
  return { status: response.status, json: (text ? JSON.parse(text) : undefined) as Json };
}

async function blobCount(): Promise<number> {
  const root = join(hub.dataDir, "blobs", "sha256");
  const dirs = await readdir(root).catch(() => [] as string[]);
  let n = 0;
  for (const dir of dirs) n += (await readdir(join(root, dir))).length;
  return n;
}

const CPU_WORKER = { cpus: 4, memoryMb: 8192, gpus: [], labels: {}, kinds: ["builtin"], version: "test" };

async function registerWorker(id: string, capabilities: Json = CPU_WORKER) {
  const { status, json } = await api("POST", "/api/v1/workers", { id, name: id, capabilities });
  expect(status).toBe(200);
  return json.worker;
}

async function claim(workerId: string, waitMs = 0): Promise<Json | undefined> {
  const { status, json } = await api("POST", `/api/v1/workers/${workerId}/claim?waitMs=${waitMs}`);
  if (status === 204) return undefined;
  expect(status).toBe(200);
  return json.claim;
}

/** Heartbeats the attempt every heartbeatMs until stopped (what a worker does while it works). */
function keepAlive(workerId: string, c: Json): () => void {
  const timer = setInterval(() => {
    void api("POST", `/api/v1/workers/${workerId}/heartbeat`, {
      runs: [{ runId: c.runId, attempt: c.attempt }],
    });
  }, c.heartbeatMs);
  return () => clearInterval(timer);
}

const trained = new Map<string, TrainResult>();

/** What the worker does: download the dataset, train with the claim's spec (cached per spec). */
async function trainFor(c: Json): Promise<TrainResult> {
  const key = JSON.stringify([c.spec.dataset, c.spec.recipe, c.spec.params, c.spec.seed, c.spec.split]);
  const cached = trained.get(key);
  if (cached) return cached;
  const response = await fetch(`${hub.url}${c.dataset.url}`, {
    headers: { authorization: `Bearer ${hub.adminToken}` },
  });
  expect(response.status).toBe(200);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const dataset: Dataset = await loadRunDataset({ bytes, format: c.dataset.format }, c.spec);
  const result = await train({
    dataset,
    task: c.spec.task,
    target: c.spec.target,
    recipe: c.spec.recipe,
    params: c.spec.params,
    seed: c.spec.seed,
    split: c.spec.split,
  });
  trained.set(key, result);
  return result;
}

function resultBody(result: TrainResult): Json {
  return {
    recipe: result.recipe,
    params: result.params,
    metrics: result.metrics,
    parity: result.predictionsCheck,
    baseline: result.baseline,
    features: result.features,
    classes: result.classes,
    history: [],
  };
}

/** Trains, reports a log line, metrics and progress, uploads the model and completes. */
async function work(workerId: string, c: Json, options: { model?: Uint8Array; tamper?: boolean } = {}) {
  const stop = keepAlive(workerId, c);
  try {
    const base = `/api/v1/runs/${c.runId}/attempts/${c.attempt}`;
    const result = await trainFor(c);
    expect(
      (await api("POST", `${base}/logs`, { lines: [{ stream: "stdout", text: "training" }] })).status,
    ).toBe(204);
    const metrics = await api("POST", `${base}/metrics`, {
      points: [
        { name: "trainLoss", value: 0.5, step: 1 },
        { name: "trainLoss", value: 0.25, step: 2 },
      ],
      progress: { iteration: 2, of: 2, phase: "trained" },
    });
    expect(metrics.status).toBe(204);
    const upload = await api("POST", `${base}/model`, options.model ?? result.onnx);
    expect(upload.status).toBe(201);
    const body = resultBody(result);
    if (options.tamper) body.metrics = { ...body.metrics, test: { ...body.metrics.test, accuracy: 0.123 } };
    return api("POST", `${base}/complete`, { onnxSha256: upload.json.sha256, result: body });
  } finally {
    stop();
  }
}

function runBody(experiment: string, extra: Json = {}): Json {
  return {
    experiment,
    dataset: { name: "binary" },
    task: "classification",
    target: "label",
    recipe: "logistic",
    params: { epochs: 60 },
    ...extra,
  };
}

async function submit(experiment: string, extra: Json = {}): Promise<Json> {
  const { status, json } = await api("POST", "/api/v1/runs", runBody(experiment, extra));
  expect(status, JSON.stringify(json)).toBe(201);
  return json;
}

const getRun = async (id: string) => (await api("GET", `/api/v1/runs/${id}`)).json;

beforeAll(async () => {
  hub = await startTestHub({ trainerLeaseMs: LEASE_MS, maxDatasetBytes: MAX_DATASET_BYTES });
  const first = await api(
    "POST",
    "/api/v1/datasets/binary/versions?format=jsonl&target=label&task=classification",
    jsonl,
  );
  expect(first.status, JSON.stringify(first.json)).toBe(201);
}, 60_000);
afterAll(async () => {
  await hub?.dispose();
});

describe("openapi", () => {
  it("documents the training routes", async () => {
    const doc = (await fetch(`${hub.url}/api/v1/openapi.json`).then((r) => r.json())) as Json;
    for (const path of [
      "/api/v1/datasets/{name}/versions",
      "/api/v1/snapshots",
      "/api/v1/runs",
      "/api/v1/runs/{id}/events",
      "/api/v1/runs/{id}/attempts/{n}/complete",
      "/api/v1/workers/{id}/claim",
      "/api/v1/models/{name}/aliases/{alias}",
      "/api/v1/models/{name}/compare",
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
  });
});

describe("datasets", () => {
  it("stores a version once, lists it, shows its columns and serves its bytes", async () => {
    const again = await api(
      "POST",
      "/api/v1/datasets/binary/versions?format=jsonl&target=label&task=classification",
      jsonl,
    );
    expect(again.status).toBe(200);
    const version = again.json.dataset;
    expect(version).toMatchObject({ name: "binary", format: "jsonl", rows: 160, target: "label" });
    expect(version.columns.map((c: Json) => [c.name, c.kind])).toEqual([
      ["x1", "numeric"],
      ["x2", "numeric"],
      ["color", "categorical"],
      ["noise", "numeric"],
      ["label", "label"],
    ]);
    const list = await api("GET", "/api/v1/datasets");
    expect(list.json.datasets).toEqual([
      expect.objectContaining({ name: "binary", versions: 1, latestVersion: version.version, rows: 160 }),
    ]);
    const byPrefix = await api("GET", `/api/v1/datasets/binary/versions/${version.version.slice(0, 8)}`);
    expect(byPrefix.json.version).toBe(version.version);
    expect((await api("GET", "/api/v1/datasets/binary")).json.versions).toHaveLength(1);
    const content = await fetch(`${hub.url}/api/v1/datasets/binary/versions/latest/content`, {
      headers: { authorization: `Bearer ${hub.adminToken}` },
    });
    expect(new Uint8Array(await content.arrayBuffer())).toEqual(jsonl);
    // Same bytes, another schema: refused rather than silently re-typed.
    const conflict = await api(
      "POST",
      "/api/v1/datasets/binary/versions?format=jsonl&target=x1&task=regression",
      jsonl,
    );
    expect(conflict.status).toBe(409);
  });

  it("refuses empty, ragged, unknown-target and oversized files and keeps nothing", async () => {
    const blobsBefore = await blobCount();
    const cases: [Uint8Array, string, number, string][] = [
      [new Uint8Array(), "", 400, "empty"],
      [new TextEncoder().encode("a,b\n1,2\n3\n"), "format=csv", 400, "ragged"],
      [new TextEncoder().encode("a,b\n1,2\n3,4\n"), "format=csv&target=nope", 400, "unknown_column"],
      [new Uint8Array(MAX_DATASET_BYTES + 1).fill(0x31), "format=csv", 413, "too_large"],
    ];
    for (const [bytes, query, status, code] of cases) {
      const { status: got, json } = await api("POST", `/api/v1/datasets/refused/versions?${query}`, bytes, {
        "content-type": "text/csv",
      });
      expect(got, `${code}: ${JSON.stringify(json)}`).toBe(status);
      expect(json.error.details.code).toBe(code);
      if (status === 400) expect(json.error.code).toBe("bad_dataset");
    }
    expect(await blobCount()).toBe(blobsBefore);
    expect((await api("GET", "/api/v1/datasets")).json.datasets.map((d: Json) => d.name)).toEqual(["binary"]);
    expect((await api("GET", "/api/v1/datasets/refused")).status).toBe(404);
  });

  it("stores a script snapshot by content and refuses what is not gzip", async () => {
    const gz = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const first = await api("POST", "/api/v1/snapshots", gz);
    expect(first.status).toBe(201);
    expect(first.json.size).toBe(gz.byteLength);
    expect((await api("POST", "/api/v1/snapshots", gz)).json.sha256).toBe(first.json.sha256);
    expect((await api("POST", "/api/v1/snapshots", new TextEncoder().encode("plain"))).status).toBe(400);
  });
});

describe("run submission", () => {
  it("refuses bad submissions and stores nothing", async () => {
    const bad: [string, Json][] = [
      ["unknown dataset", { dataset: { name: "nope" } }],
      ["unknown version", { dataset: { name: "binary", version: "deadbeefdeadbeef" } }],
      ["unknown target", { target: "nope" }],
      ["recipe not for the task", { recipe: "ridge", params: {} }],
      ["bad params", { params: { epochs: -1 } }],
      ["misspelt param", { params: { epoch: 5 } }],
      ["script without a script", { recipe: "script", params: {} }],
      [
        "unknown snapshot",
        { recipe: "script", params: {}, script: { snapshot: "ab".repeat(32), command: "python train.py" } },
      ],
      ["regression on a label", { task: "regression", recipe: "ridge", params: {} }],
      ["unknown field", { colour: "red" }],
      ["split leaves nothing", { split: { validation: 0.5, test: 0.5 } }],
    ];
    for (const [what, extra] of bad) {
      const { status, json } = await api("POST", "/api/v1/runs", runBody("refused", extra));
      expect(status, `${what}: ${JSON.stringify(json)}`).toBe(400);
      expect(json.error.code).toBe("bad_request");
    }
    expect((await api("GET", "/api/v1/runs?experiment=refused")).json.runs).toEqual([]);
  });

  it("resolves the dataset version and defaults into the stored spec", async () => {
    const run = await submit("resolved", { register: { model: "resolved-model" } });
    expect(run).toMatchObject({ status: "queued", attempt: 0, attempts: [] });
    expect(run.id).toMatch(/^run_/);
    expect(run.spec).toMatchObject({
      seed: 1,
      split: { validation: 0.15, test: 0.15 },
      maxAttempts: 3,
      register: { model: "resolved-model", aliases: [] },
      trigger: { kind: "manual" },
    });
    expect(run.spec.dataset.version).toMatch(/^[0-9a-f]{64}$/);
    expect((await api("POST", `/api/v1/runs/${run.id}/cancel`)).json.status).toBe("cancelled");
  });
});

describe("workers and claims", () => {
  it("matches runs to workers by labels and GPUs", async () => {
    await registerWorker("cpu-1");
    await registerWorker("gpu-1", {
      ...CPU_WORKER,
      labels: { pool: "gpu" },
      gpus: [{ index: 0, name: "H100", memoryMb: 80_000 }],
    });
    const run = await submit("matching", { compute: { labels: { pool: "gpu" }, gpus: 1 } });
    expect(await claim("cpu-1")).toBeUndefined();
    const got = await claim("gpu-1");
    expect(got).toMatchObject({ runId: run.id, attempt: 1, leaseMs: LEASE_MS });
    expect(got!.dataset.url).toBe(`/api/v1/datasets/binary/versions/${run.spec.dataset.version}/content`);
    const workers = (await api("GET", "/api/v1/workers")).json.workers as Json[];
    expect(workers.find((w) => w.id === "gpu-1")).toMatchObject({ status: "busy", currentRun: run.id });
    expect(workers.find((w) => w.id === "cpu-1")).toMatchObject({ status: "idle" });
    const fail = await api("POST", `/api/v1/runs/${run.id}/attempts/1/fail`, {
      error: { code: "cancelled", message: "test done" },
      retryable: false,
    });
    expect(fail.json.status).toBe("cancelled");
  });

  it("offers a worker running other jobs only runs that fit its free GPUs; a bad count is a 400", async () => {
    await registerWorker("gpu-2", {
      ...CPU_WORKER,
      labels: { pool: "busy-gpu" },
      gpus: [
        { index: 0, name: "H100", memoryMb: 80_000 },
        { index: 1, name: "H100", memoryMb: 80_000 },
      ],
    });
    const run = await submit("free-gpus", { compute: { labels: { pool: "busy-gpu" }, gpus: 2 } });
    const partly = await api("POST", "/api/v1/workers/gpu-2/claim?waitMs=0&freeGpus=1");
    expect(partly.status).toBe(204);
    for (const bad of ["-1", "1.5", "x", "65"]) {
      const refused = await api("POST", `/api/v1/workers/gpu-2/claim?waitMs=0&freeGpus=${bad}`);
      expect(refused.status, bad).toBe(400);
    }
    const all = await api("POST", "/api/v1/workers/gpu-2/claim?waitMs=0&freeGpus=2");
    expect(all.status).toBe(200);
    expect(all.json.claim).toMatchObject({ runId: run.id });
    await api("POST", `/api/v1/runs/${run.id}/attempts/1/fail`, {
      error: { code: "cancelled", message: "test done" },
      retryable: false,
    });
  });

  it("gives a run to exactly one of two concurrent claims, then registers its model with lineage", async () => {
    await registerWorker("race-a");
    await registerWorker("race-b");
    const run = await submit("race", { register: { model: "race-model", aliases: ["champion", "latest"] } });
    const claims = await Promise.all([claim("race-a"), claim("race-b")]);
    const winners = claims.filter((c) => c !== undefined);
    expect(winners).toHaveLength(1);
    const worker = claims[0] ? "race-a" : "race-b";
    const done = await work(worker, winners[0]!);
    expect(done.status, JSON.stringify(done.json)).toBe(200);
    expect(done.json).toMatchObject({
      status: "succeeded",
      outputs: { model: { name: "race-model", version: 1 } },
    });
    expect(done.json.metrics.test.accuracy).toBeGreaterThan(0.9);
    expect(done.json.attempts).toEqual([
      expect.objectContaining({ n: 1, status: "succeeded", workerId: worker }),
    ]);

    const version = (await api("GET", "/api/v1/models/race-model/versions/champion")).json;
    expect(version).toMatchObject({
      version: 1,
      aliases: ["champion", "latest"],
      lineage: {
        run: run.id,
        attempt: 1,
        dataset: { name: "binary", version: run.spec.dataset.version },
        recipe: "logistic",
        worker,
        experiment: "race",
      },
      training: { inputMode: "vector", task: "classification", target: "label", classes: ["no", "yes"] },
    });
    expect(version.metrics.test).toEqual(done.json.metrics.test);
    expect(version.baseline.schemaVersion).toBe(1);

    const logs = (await api("GET", `/api/v1/runs/${run.id}/logs`)).json;
    expect(logs.lines.map((l: Json) => l.text)).toContain("training");
    expect(logs.next).toBe(logs.lines.at(-1).seq);
    expect((await api("GET", `/api/v1/runs/${run.id}/logs?after=${logs.next}`)).json.lines).toEqual([]);
    const series = (await api("GET", `/api/v1/runs/${run.id}/metrics`)).json.series;
    expect(series.trainLoss.map((p: Json) => [p.step, p.value, p.attempt])).toEqual([
      [1, 0.5, 1],
      [2, 0.25, 1],
    ]);
    const experiments = (await api("GET", "/api/v1/experiments")).json.experiments as Json[];
    expect(experiments.find((e) => e.name === "race")).toMatchObject({ runs: 1, best: { run: run.id } });
  });

  it("moves aliases and compares versions", async () => {
    const run = await submit("race", { register: { model: "race-model" }, params: { epochs: 5 } });
    const c = await claim("race-a");
    expect(c?.runId).toBe(run.id);
    expect((await work("race-a", c!)).json.status).toBe("succeeded");
    expect((await api("PUT", "/api/v1/models/race-model/aliases/staging", { version: 2 })).status).toBe(200);
    expect((await api("PUT", "/api/v1/models/race-model/aliases/staging", { version: 9 })).status).toBe(404);
    expect((await api("PUT", "/api/v1/models/race-model/aliases/3bad", { version: 1 })).status).toBe(400);
    const aliases = (await api("GET", "/api/v1/models/race-model/aliases")).json.aliases as Json[];
    expect(aliases.map((a) => [a.alias, a.version])).toEqual([
      ["champion", 1],
      ["latest", 1],
      ["staging", 2],
    ]);
    const compared = (await api("GET", "/api/v1/models/race-model/compare?versions=champion,2")).json;
    expect(compared.versions.map((v: Json) => [v.version, v.aliases, v.lineage.params.epochs])).toEqual([
      [1, ["champion", "latest"], 60],
      [2, ["staging"], 5],
    ]);
    expect(compared.metrics).toEqual(expect.arrayContaining(["accuracy", "macroF1", "logLoss"]));
    expect((await api("DELETE", "/api/v1/models/race-model/aliases/staging")).status).toBe(204);
    expect((await api("DELETE", "/api/v1/models/race-model/aliases/staging")).status).toBe(404);
    expect((await api("GET", "/api/v1/models/race-model/versions/staging")).status).toBe(404);
  });
});

describe("leases", () => {
  it("requeues a run whose worker stopped beating, and a second worker finishes it", async () => {
    await registerWorker("lost-a");
    await registerWorker("lost-b");
    const run = await submit("leases", { register: { model: "leases-model" } });
    const first = await claim("lost-a");
    expect(first?.runId).toBe(run.id);
    // lost-a goes silent; the sweeper takes the run back once the lease has run out.
    const requeued = await waitFor("the run to be requeued", async () => {
      const r = await getRun(run.id);
      return r.status === "queued" ? r : undefined;
    });
    expect(requeued.attempts).toEqual([
      expect.objectContaining({
        n: 1,
        workerId: "lost-a",
        status: "lost",
        error: expect.objectContaining({ code: "lost" }),
      }),
    ]);
    const late = await api("POST", `/api/v1/runs/${run.id}/attempts/1/logs`, {
      lines: [{ stream: "stdout", text: "late" }],
    });
    expect(late.status).toBe(409);
    expect(late.json.error.code).toBe("lease_lost");
    const beat = await api("POST", "/api/v1/workers/lost-a/heartbeat", {
      runs: [{ runId: run.id, attempt: 1 }],
    });
    expect(beat.json).toMatchObject({ cancel: [], lost: [run.id] });

    const second = await claim("lost-b");
    expect(second).toMatchObject({ runId: run.id, attempt: 2 });
    const done = await work("lost-b", second!);
    expect(done.json.status).toBe("succeeded");
    expect(done.json.attempts.map((a: Json) => [a.n, a.workerId, a.status])).toEqual([
      [1, "lost-a", "lost"],
      [2, "lost-b", "succeeded"],
    ]);
    expect((await api("GET", "/api/v1/models/leases-model/versions/1")).json.lineage).toMatchObject({
      attempt: 2,
      worker: "lost-b",
    });
  });

  it("fails a run once its attempts are used up", async () => {
    await registerWorker("flaky");
    const run = await submit("exhausted", { maxAttempts: 2 });
    const first = await claim("flaky");
    const retry = await api("POST", `/api/v1/runs/${run.id}/attempts/${first!.attempt}/fail`, {
      error: { code: "oom", message: "out of memory" },
      retryable: true,
    });
    expect(retry.json.status).toBe("queued");
    const second = await claim("flaky");
    expect(second?.attempt).toBe(2);
    // The last attempt is lost to the sweeper: no attempts left, so the run fails.
    const failed = await waitFor("the run to fail", async () => {
      const r = await getRun(run.id);
      return r.status === "failed" ? r : undefined;
    });
    expect(failed.error.code).toBe("lost");
    expect(failed.attempts.map((a: Json) => a.status)).toEqual(["failed", "lost"]);
  });
});

describe("cancel", () => {
  it("cancels a queued run at once and refuses to cancel it twice", async () => {
    const run = await submit("cancel-queued");
    expect((await api("POST", `/api/v1/runs/${run.id}/cancel`)).json.status).toBe("cancelled");
    const again = await api("POST", `/api/v1/runs/${run.id}/cancel`);
    expect(again.status).toBe(409);
    expect(await claim("flaky")).toBeUndefined();
  });

  it("asks the worker of a running run to stop through its heartbeat", async () => {
    const run = await submit("cancel-running");
    const c = await claim("flaky");
    expect((await api("POST", `/api/v1/runs/${run.id}/cancel`)).json.status).toBe("cancelling");
    const beat = await api("POST", "/api/v1/workers/flaky/heartbeat", {
      runs: [{ runId: run.id, attempt: c!.attempt }],
    });
    expect(beat.json).toEqual({ leaseMs: LEASE_MS, cancel: [run.id], lost: [] });
    const stopped = await api("POST", `/api/v1/runs/${run.id}/attempts/${c!.attempt}/fail`, {
      error: { code: "cancelled", message: "stopped on request" },
      retryable: false,
    });
    expect(stopped.json).toMatchObject({
      status: "cancelled",
      attempts: [expect.objectContaining({ status: "cancelled" })],
    });
  });
});

describe("completion checks", () => {
  it("fails the run and registers nothing when the ONNX file is corrupt", async () => {
    const run = await submit("corrupt", { register: { model: "corrupt-model" } });
    const c = await claim("flaky");
    const done = await work("flaky", c!, { model: new TextEncoder().encode("not an onnx model") });
    expect(done.json).toMatchObject({ status: "failed", error: { code: "invalid_model" } });
    expect(done.json.attempts).toEqual([expect.objectContaining({ status: "failed" })]);
    expect((await api("GET", "/api/v1/models/corrupt-model/versions")).status).toBe(404);
    expect(run.id).toBe(c!.runId);
  });

  it("fails the run when the reported test metrics are not what the model gives", async () => {
    await submit("tampered", { register: { model: "tampered-model" } });
    const c = await claim("flaky");
    const done = await work("flaky", c!, { tamper: true });
    expect(done.json).toMatchObject({ status: "failed", error: { code: "evaluation" } });
    expect(done.json.error.message).toContain("accuracy");
    expect((await api("GET", "/api/v1/models/tampered-model/versions")).status).toBe(404);
  });
});

describe("script runs", () => {
  it("checks a script's model against its own test predictions and profiles it on the hub", async () => {
    await registerWorker("script-1", { ...CPU_WORKER, kinds: ["script"] });
    const gz = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const snapshot = (await api("POST", "/api/v1/snapshots", gz)).json.sha256;
    const script = { snapshot, command: "python train.py" };
    for (const honest of [true, false]) {
      const model = honest ? "script-model" : "script-liar";
      const run = await submit("script", { recipe: "script", params: {}, script, register: { model } });
      expect(run.kind).toBe("script");
      expect(await claim("flaky")).toBeUndefined(); // a builtin-only worker never takes it
      const c = (await claim("script-1"))!;
      expect(c.snapshot).toEqual({ sha256: snapshot, url: `/api/v1/snapshots/${snapshot}` });
      // The "script": a logistic model trained on the same data, and its outputs on the test split.
      const result = await trainFor({
        ...c,
        spec: { ...c.spec, recipe: "logistic", params: { epochs: 60 } },
      });
      const response = await fetch(`${hub.url}${c.dataset.url}`, {
        headers: { authorization: `Bearer ${hub.adminToken}` },
      });
      const dataset = await loadRunDataset({ bytes: new Uint8Array(await response.arrayBuffer()) }, c.spec);
      const split = testSplit(dataset, c.spec);
      const outputs = await runOnnx(result.onnx, split.feeds, split.classes.length);
      const predictions = Array.from(outputs.values, (v, i) => (honest || i % 2 === 1 ? v : 1 - v));
      const base = `/api/v1/runs/${c.runId}/attempts/${c.attempt}`;
      const upload = await api("POST", `${base}/model`, result.onnx);
      const done = await api("POST", `${base}/complete`, {
        onnxSha256: upload.json.sha256,
        result: { recipe: "script", params: {}, predictions },
      });
      if (honest) {
        expect(done.json).toMatchObject({ status: "succeeded", outputs: { parity: { ok: true } } });
        expect(done.json.metrics.test.accuracy).toBeCloseTo(
          (result.metrics.test as { accuracy: number }).accuracy,
          6,
        );
        const version = (await api("GET", `/api/v1/models/${model}/versions/1`)).json;
        expect(version.lineage).toMatchObject({ snapshot, recipe: "script", run: run.id });
        expect(version.baseline).toMatchObject({ schemaVersion: 1, rows: result.split.train });
      } else {
        expect(done.json).toMatchObject({ status: "failed", error: { code: "parity" } });
        expect((await api("GET", `/api/v1/models/${model}/versions`)).status).toBe(404);
      }
    }
  });
});

describe("events", () => {
  it("streams status, log, metric and progress events and ends after the terminal status", async () => {
    const run = await submit("events", { register: { model: "events-model" } });
    const response = await fetch(`${hub.url}/api/v1/runs/${run.id}/events`, {
      headers: { authorization: `Bearer ${hub.adminToken}` },
    });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const text = (async () => {
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let all = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return all;
        all += decoder.decode(value, { stream: true });
      }
    })();
    const c = await claim("flaky");
    expect((await work("flaky", c!)).json.status).toBe("succeeded");
    const events = (await text)
      .split("\n\n")
      .filter((block) => block.startsWith("event:"))
      .map((block) => {
        const [eventLine, dataLine] = block.split("\n");
        return { type: eventLine!.slice(7).trim(), data: JSON.parse(dataLine!.slice(5)) };
      });
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("status");
    expect(events[0]!.data.status).toBe("queued");
    expect(types).toEqual(expect.arrayContaining(["log", "metric", "progress"]));
    const statuses = events.filter((e) => e.type === "status").map((e) => e.data.status);
    expect(statuses).toEqual(["queued", "running", "succeeded"]);
    expect(events.at(-1)!.data.outputs.model).toEqual({ name: "events-model", version: 1 });
    expect(events.find((e) => e.type === "progress")!.data).toMatchObject({
      iteration: 2,
      of: 2,
      attempt: 1,
    });
  });
});

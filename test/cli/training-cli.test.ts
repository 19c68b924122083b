/**
 * The built `edgefleet` CLI against a real hub and its in-hub trainer worker: dataset upload (good and
 * refused), train --wait to success, runs list/show/logs, cancel and detach, models alias/compare,
 * and a script run.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../lib/paths.js";
import { blobs } from "../../training/synthetic.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { waitFor } from "../support/wait.js";

const execFileAsync = promisify(execFile);
const cli = join(projectRoot(), "bin", "edgefleet.js");
const scriptExample = join(projectRoot(), "examples", "script-node");

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

let hub: TestHub;
let dir: string;
let env: NodeJS.ProcessEnv;

/** Runs the CLI; never throws on a non-zero exit (the exit code is part of what is tested). */
async function edgefleet(...args: string[]): Promise<CliResult> {
  return execFileAsync(process.execPath, [cli, ...args], { env, timeout: 180_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}

/** Runs the CLI with --json and parses stdout; a non-zero exit fails with its stderr. */
async function json<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const result = await edgefleet(...args, "--json");
  expect(result.code, `edgefleet ${args.join(" ")}\n${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout) as T;
}

function csv(rows: Record<string, unknown>[]): string {
  const columns = Object.keys(rows[0]!);
  return `${columns.join(",")}\n${rows.map((r) => columns.map((c) => r[c] ?? "").join(",")).join("\n")}\n`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgefleet-training-cli-"));
  // The hub's own trainer worker (config `trainer`, on by default) takes the runs.
  hub = await startTestHub({ trainer: true });
  env = { ...process.env, EDGEFLEET_HUB_URL: hub.url, EDGEFLEET_TOKEN: hub.adminToken };
  await writeFile(join(dir, "blobs.csv"), csv(blobs(150, 3)));
  await writeFile(join(dir, "ragged.csv"), "x1,x2,label\n1,2,a\n3,b\n");
});

afterAll(async () => {
  await hub?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("datasets", () => {
  it("refuses a ragged file with a clear message and a non-zero exit, and stores nothing", async () => {
    const refused = await edgefleet(
      "datasets",
      "upload",
      "broken",
      join(dir, "ragged.csv"),
      "--target",
      "label",
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/error: .*line|row/i);
    expect(refused.stderr).toContain("ragged");
    // List commands print the rows themselves with --json, as the other list commands do.
    const datasets = await json<{ name: string }[]>("datasets", "list");
    expect(datasets.map((d) => d.name)).not.toContain("broken");
  });

  it("refuses a bad --override kind before sending anything", async () => {
    const refused = await edgefleet(
      "datasets",
      "upload",
      "broken",
      join(dir, "blobs.csv"),
      "--override",
      "x1=float",
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("--override x1=float: the kind must be one of numeric, boolean");
  });

  it("uploads a CSV and shows the inferred schema with statistics", async () => {
    const uploaded = await edgefleet(
      "datasets",
      "upload",
      "blobs",
      join(dir, "blobs.csv"),
      "--target",
      "label",
      "--task",
      "classification",
    );
    expect(uploaded.code, uploaded.stderr).toBe(0);
    expect(uploaded.stdout).toMatch(/dataset blobs@[0-9a-f]{12}: 150 rows, 4 columns/);
    expect(uploaded.stdout).toMatch(/x1\s+numeric\s+0\s+min /);
    expect(uploaded.stdout).toMatch(/shade\s+categorical\s+0\s+3 distinct/);
    const shown = await json<{ rows: number; target: string; columns: { name: string; kind: string }[] }>(
      "datasets",
      "show",
      "blobs@latest",
    );
    expect(shown.rows).toBe(150);
    expect(shown.target).toBe("label");
    expect(shown.columns.map((c) => [c.name, c.kind])).toEqual([
      ["x1", "numeric"],
      ["x2", "numeric"],
      ["shade", "categorical"],
      ["label", "label"],
    ]);
    const datasets = await json<{ name: string; rows: number }[]>("datasets", "list");
    expect(datasets).toEqual([expect.objectContaining({ name: "blobs", rows: 150 })]);
  });
});

describe("training runs", () => {
  let firstRun: string;

  it("train --wait follows a built-in recipe to success and prints metrics and the model version", async () => {
    const trained = await edgefleet(
      "train",
      "--experiment",
      "blobs",
      "--dataset",
      "blobs",
      "--recipe",
      "logistic",
      "--param",
      "epochs=60",
      "--wait",
    );
    expect(trained.code, `${trained.stdout}\n${trained.stderr}`).toBe(0);
    const id = /run (\S+) succeeded/.exec(trained.stdout)?.[1];
    expect(id, trained.stdout).toBeDefined();
    firstRun = id!;
    expect(trained.stdout).toMatch(/accuracy\s+\d/);
    expect(trained.stdout).toContain("model: blobs version 1");
  });

  it("runs list, show and logs answer in JSON", async () => {
    const runs = await json<{ id: string; status: string; experiment: string }[]>(
      "runs",
      "list",
      "--experiment",
      "blobs",
    );
    expect(runs.map((r) => [r.id, r.status])).toEqual([[firstRun, "succeeded"]]);
    const run = await json<{
      attempts: { n: number; status: string }[];
      metrics: { test: Record<string, number> };
      outputs: { model: { name: string; version: number } };
    }>("runs", "show", firstRun);
    expect(run.attempts.map((a) => [a.n, a.status])).toEqual([[1, "succeeded"]]);
    expect(run.metrics.test.accuracy).toBeGreaterThan(0.9);
    expect(run.outputs.model).toEqual({ name: "blobs", version: 1 });
    const { lines } = await json<{ lines: { seq: number; text: string }[] }>("runs", "logs", firstRun);
    expect(lines.length).toBeGreaterThan(0);
    const workers = await json<{ status: string; capabilities: { kinds: string[] } }[]>("workers", "list");
    expect(workers).toEqual([
      expect.objectContaining({ capabilities: expect.objectContaining({ kinds: ["builtin", "script"] }) }),
    ]);
    const human = await edgefleet("runs", "show", firstRun);
    expect(human.stdout).toContain("attempts:");
    expect(human.stdout).toContain("lineage:");
  });

  it("a run no worker can take is cancelled; following it exits 2, and Ctrl-C only detaches", async () => {
    const queued = await json<{ id: string; status: string }>(
      "train",
      "--experiment",
      "blobs",
      "--dataset",
      "blobs",
      "--recipe",
      "logistic",
      "--label",
      "zone=nowhere",
    );
    expect(queued.status).toBe("queued");

    const follower = spawn(process.execPath, [cli, "runs", "logs", queued.id, "--follow"], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    follower.stdout.on("data", (c) => (out += c));
    follower.stderr.on("data", (c) => (err += c));
    const exited = new Promise<number | null>((resolve) => follower.once("exit", (code) => resolve(code)));
    await waitFor("the follower to show the queued run", async () => out.includes("[status] queued"));
    follower.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(err).toContain(`edgefleet runs logs ${queued.id} --follow`);

    const cancelled = await edgefleet("runs", "cancel", queued.id);
    expect(cancelled.stdout).toContain(`run ${queued.id}: cancelled`);
    const followed = await edgefleet("runs", "logs", queued.id, "--follow");
    expect(followed.code).toBe(2);
    expect(followed.stdout).toContain(`run ${queued.id} cancelled`);
  });

  it("refuses a bad parameter at submission with the hub's message", async () => {
    const refused = await edgefleet(
      "train",
      "--experiment",
      "blobs",
      "--dataset",
      "blobs",
      "--recipe",
      "logistic",
      "--param",
      "epochz=5",
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/epochz/);
  });
});

describe("models", () => {
  it("alias and compare two trained versions", async () => {
    const second = await edgefleet(
      "train",
      "--experiment",
      "blobs",
      "--dataset",
      "blobs",
      "--recipe",
      "gbt",
      "--param",
      "nEstimators=10",
      "--alias",
      "challenger",
      "--wait",
    );
    expect(second.code, `${second.stdout}\n${second.stderr}`).toBe(0);
    expect(second.stdout).toContain("model: blobs version 2");
    await json("models", "alias", "blobs", "champion", "1");
    const shown = await json<{ version: number; aliases: string[] }>("models", "show", "blobs@champion");
    expect(shown.version).toBe(1);
    const compared = await json<{
      versions: { version: number; aliases: string[]; metrics: { test: object } }[];
    }>("models", "compare", "blobs", "champion", "challenger");
    expect(compared.versions.map((v) => [v.version, v.aliases])).toEqual([
      [1, ["champion"]],
      [2, ["challenger"]],
    ]);
    expect(Object.keys(compared.versions[0]!.metrics.test)).toContain("accuracy");
    const table = await edgefleet("models", "compare", "blobs", "1", "2");
    expect(table.stdout).toMatch(/test\.accuracy\s+\d/);
    const removed = await edgefleet("models", "alias", "blobs", "champion", "--delete");
    expect(removed.code, removed.stderr).toBe(0);
    const gone = await edgefleet("models", "show", "blobs@champion");
    expect(gone.code).toBe(1);
  });
});

describe("script runs", () => {
  it("train --script snapshots the folder, runs the command on a worker and registers the model", async () => {
    // With --json, --wait prints the finished run as JSON on stdout (progress and logs go to stderr).
    const run = await json<{ status: string; spec: { recipe: string }; outputs: { model: object } }>(
      "train",
      "--experiment",
      "blobs-script",
      "--dataset",
      "blobs",
      "--script",
      scriptExample,
      "--command",
      "node train.mjs",
      "--wait",
    );
    expect(run.status).toBe("succeeded");
    expect(run.spec.recipe).toBe("script");
    expect(run.outputs.model).toEqual({ name: "blobs-script", version: 1 });
  });
});

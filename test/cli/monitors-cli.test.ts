/**
 * The built `edgefleet` CLI for drift monitors against a real hub with its in-hub trainer: a model is
 * trained (`train --wait`) and packaged (`models package`) with its monitoring section, a monitor is
 * created with flags, two devices (real MQTT clients) send telemetry windows carrying drift
 * summaries, and `monitors evaluate` says OK on reference-like windows and DRIFT on shifted ones;
 * `alerts list` shows the one alert. Bad flags and hub refusals exit non-zero and create nothing.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Monitoring } from "../../drift-summary/monitoring.js";
import { projectRoot } from "../../lib/paths.js";
import { separableBinary } from "../../training/synthetic.js";
import { deviceTopic } from "../../wire/topics.js";
import { driftWindow, summaryFor } from "../support/drift-windows.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { connectClient, endAll } from "../support/mqtt-clients.js";
import { waitFor } from "../support/wait.js";

const execFileAsync = promisify(execFile);
const cli = join(projectRoot(), "bin", "edgefleet.js");
const MODULE = { name: "churn", version: "1.0.0" };

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

let hub: TestHub;
let dir: string;
let env: NodeJS.ProcessEnv;
let spec: Monitoring;
const devices: { id: string; client: MqttClient }[] = [];
let seq = 0;

/** Runs the CLI; never throws on a non-zero exit (the exit code is part of what is tested). */
async function edgefleet(...args: string[]): Promise<CliResult> {
  return execFileAsync(process.execPath, [cli, ...args], { env, timeout: 120_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}

/** Runs the CLI and expects exit 0. */
async function ok(...args: string[]): Promise<string> {
  const result = await edgefleet(...args);
  expect(result.code, `edgefleet ${args.join(" ")}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

async function json<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  return JSON.parse(await ok(...args, "--json")) as T;
}

/** One telemetry window per device with a drift summary (columns in `shift` moved up), stored. */
async function publishWindows(shift: string[] | undefined, rows = 150): Promise<void> {
  seq++;
  for (const [index, device] of devices.entries()) {
    const drift = summaryFor(spec, rows, {
      seed: seq * 100 + index,
      shift,
      at: new Date(Date.UTC(2026, 0, 1, 0, seq)),
    });
    await device.client.publishAsync(
      deviceTopic(device.id, "telemetry"),
      JSON.stringify(driftWindow(seq, MODULE, drift)),
      { qos: 1 },
    );
  }
  const store = hub.parts.drift.store;
  await waitFor("summaries stored", async () => {
    const stored = await Promise.all(devices.map((d) => store.data.summaries({ deviceId: d.id, limit: 1 })));
    return stored.every((s) => s[0]?.seq === seq);
  });
}

function csv(rows: Record<string, unknown>[]): string {
  const columns = Object.keys(rows[0]!);
  return `${columns.join(",")}\n${rows.map((r) => columns.map((c) => r[c] ?? "").join(",")).join("\n")}\n`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgefleet-monitors-cli-"));
  hub = await startTestHub({ trainer: true });
  env = { ...process.env, EDGEFLEET_HUB_URL: hub.url, EDGEFLEET_TOKEN: hub.adminToken };
  await writeFile(join(dir, "churn.csv"), csv(separableBinary(300, 11)));
  await writeFile(join(dir, "spec.json"), JSON.stringify({ includeOutputs: false, intervalMs: 3_600_000 }));
  for (const id of ["drift-a", "drift-b"]) {
    const { secret } = await hub.client.post<{ secret: string }>("/api/v1/devices", {
      id,
      tags: { fleet: "drift" },
    });
    devices.push({
      id,
      client: await connectClient(hub.mqttUrl, { clientId: id, username: id, password: secret }),
    });
  }
}, 120_000);

afterAll(async () => {
  await endAll(devices.map((d) => d.client));
  await hub?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("monitors CLI", () => {
  it("trains and packages a model with its monitoring section", async () => {
    await ok(
      "datasets",
      "upload",
      "churn",
      join(dir, "churn.csv"),
      "--target",
      "label",
      "--task",
      "classification",
    );
    const trained = await ok(
      "train",
      "--experiment",
      "churn",
      "--dataset",
      "churn",
      "--recipe",
      "logistic",
      "--wait",
    );
    expect(trained).toContain("model: churn version 1");

    const refused = await edgefleet("models", "package", "churn", "1", "--module-version", "one");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("--module-version takes a semantic version");

    const packaged = await ok("models", "package", "churn", "1", "--allow-samples");
    expect(packaged).toContain("as module churn@1.0.0");
    expect(packaged).toMatch(/monitoring: 4 column\(s\), \d output\(s\): x1, x2, color, noise/);
    const module = await hub.client.get<{ manifest: { monitoring: Monitoring } }>(
      "/api/v1/modules/churn/versions/1.0.0",
    );
    spec = module.manifest.monitoring;
    expect(spec.columns.map((c) => c.name)).toEqual(["x1", "x2", "color", "noise"]);
  });

  it("refuses bad flags before sending, and prints the hub's refusals; nothing is created", async () => {
    const base = ["monitors", "create", "churn-watch", "--module", "churn", "--selector", "fleet=drift"];
    const badAlpha = await edgefleet(...base, "--alpha", "2");
    expect(badAlpha.code).toBe(1);
    expect(badAlpha.stderr).toContain('--alpha is a false-alarm rate above 0 and below 0.5, got "2"');
    const badScales = await edgefleet(...base, "--scales", "4,4");
    expect(badScales.code).toBe(1);
    expect(badScales.stderr).toContain("--scales must be distinct");
    const noDataset = await edgefleet(...base, "--action", "retrain");
    expect(noDataset.code).toBe(1);
    expect(noDataset.stderr).toContain("--retrain-dataset");

    const nobody = await edgefleet(
      "monitors",
      "create",
      "x",
      "--module",
      "churn",
      "--selector",
      "fleet=nowhere",
    );
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/error: .*matches no devices.*\(HTTP 400/);
    const unknown = await edgefleet(
      "monitors",
      "create",
      "x",
      "--module",
      "churn@9.9.9",
      "--selector",
      "fleet=drift",
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/churn@9.9.9 not found.*HTTP 404/);

    expect(await json<unknown[]>("monitors", "list")).toEqual([]);
  });

  it("creates a monitor from flags over a spec file; resolves the module's version", async () => {
    const created = await ok(
      "monitors",
      "create",
      "churn-watch",
      "--module",
      "churn",
      "--selector",
      "fleet=drift",
      "--scales",
      "1",
      "--min-rows",
      "100",
      "--every",
      "1h",
      "--spec",
      join(dir, "spec.json"),
    );
    expect(created).toMatch(
      /created monitor churn-watch \(\S+\): churn@1.0.0 on fleet=drift, every 1h, action alert/,
    );
    const listed = await json<{ name: string; moduleVersion: string; settings: Record<string, unknown> }[]>(
      "monitors",
      "list",
    );
    expect(listed).toEqual([
      expect.objectContaining({
        name: "churn-watch",
        moduleVersion: "1.0.0",
        settings: expect.objectContaining({ scales: [1], minRows: 100, includeOutputs: false }),
      }),
    ]);
    expect(await ok("monitors", "list")).toMatch(/churn-watch\s+churn@1.0.0\s+fleet=drift/);
  });

  it("evaluate says OK on reference-like windows and DRIFT on shifted ones (exit 0 both times)", async () => {
    await publishWindows(undefined);
    const quiet = await ok("monitors", "evaluate", "churn-watch");
    expect(quiet).toContain("verdict OK (no drift): 300 rows from 2 device(s)");
    expect(quiet).toMatch(/COLUMN\s+KIND\s+P\s+FIRED\s+JS\s+PSI\s+WASSERSTEIN\s+DRIFTED\s+EVIDENTLY/);
    expect(quiet).toMatch(/^x1\s+numeric\s+ks \S+\s+-\s+/m);
    expect(quiet).not.toContain("DRIFT ");

    await publishWindows(["x1"]);
    const drifted = await ok("monitors", "evaluate", "churn-watch");
    expect(drifted).toMatch(/verdict DRIFT: 300 rows from 2 device\(s\); fired: x1 \(1w ks p=\S+\)/);
    expect(drifted).toMatch(/^x1\s+numeric\s+ks \S+\s+1w ks\s+.*DRIFT\s+drift$/m);
    expect(drifted).toMatch(/^alert \S+: /m);

    const shown = await json<{ state: string; latestEvaluation: { verdict: string } }>(
      "monitors",
      "show",
      "churn-watch",
    );
    expect(shown).toMatchObject({ state: "drift", latestEvaluation: { verdict: "drift" } });
    const human = await ok("monitors", "show", "churn-watch");
    expect(human).toContain("watches churn@1.0.0 on fleet=drift");
    expect(human).toContain("every 1h, alpha 0.005, scales 1, min rows 100, outputs excluded");
    expect(human).toContain("verdict DRIFT");
  });

  it("alerts list, history and series", async () => {
    const monitorId = (await json<{ id: string }>("monitors", "show", "churn-watch")).id;
    const alerts = await json<{ monitorId: string; message: string; webhookStatus: string }[]>(
      "alerts",
      "list",
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ monitorId, webhookStatus: "none" });
    expect(alerts[0]!.message).toContain("x1");
    expect(await json<unknown[]>("alerts", "list", "--monitor", "churn-watch")).toHaveLength(1);
    expect(await ok("alerts", "list")).toMatch(/churn-watch\s+.*x1/);

    const history = await json<{ verdict: string }[]>("monitors", "history", "churn-watch");
    // Newest first; the scheduler's own first run (no data yet) may be at the end.
    expect(history.map((e) => e.verdict).slice(0, 2)).toEqual(["drift", "ok"]);
    expect(await ok("monitors", "history", "churn-watch", "--limit", "1")).toMatch(/drift\s+300\s+2\s+x1/);

    const series = await ok("monitors", "series", "churn-watch", "--column", "x1");
    expect(series).toContain("column x1, alpha 0.005");
    expect(series).toMatch(/P KS 1W/);
    expect(series.trim().split("\n").at(-1)).toMatch(/DRIFT$/);
    const bad = await edgefleet("monitors", "series", "churn-watch", "--column", "nope");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/column "nope" is not monitored/);
  });

  it("retrain: refused for an alert monitor; a retrain monitor starts a cycle by hand", async () => {
    const refused = await edgefleet("monitors", "retrain", "churn-watch");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("monitor churn-watch has action alert");

    // Disabled: the scheduler leaves it alone, so only the hand-started cycle exists.
    await ok(
      "monitors",
      "create",
      "churn-retrain",
      "--module",
      "churn@1.0.0",
      "--selector",
      "fleet=drift",
      "--disabled",
      "--retrain-dataset",
      "churn",
      "--retrain-min-labelled",
      "20",
      "--retrain-collect-timeout",
      "10m",
    );
    const started = await ok("monitors", "retrain", "churn-retrain");
    expect(started).toMatch(/retraining cycle \S+ started: collecting/);
    const again = await edgefleet("monitors", "retrain", "churn-retrain");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already has a retraining cycle in progress.*HTTP 409/);
    const { cycles } = await json<{ cycles: { status: string; steps: { step: string }[] }[] }>(
      "monitors",
      "retraining",
      "churn-retrain",
    );
    expect(cycles).toHaveLength(1);
    expect(cycles[0]!.steps.map((s) => s.step)).toContain("started");
    expect(await ok("monitors", "retraining", "churn-retrain")).toMatch(
      /cycle \S+: \w+, started .*\(started by hand\)/,
    );
  });

  it("delete removes a monitor", async () => {
    expect(await ok("monitors", "delete", "churn-retrain")).toContain("monitor churn-retrain deleted");
    const gone = await edgefleet("monitors", "show", "churn-retrain");
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/monitor churn-retrain does not exist.*HTTP 404/);
    expect((await json<{ name: string }[]>("monitors", "list")).map((m) => m.name)).toEqual(["churn-watch"]);
  });
});

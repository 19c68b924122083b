/**
 * Drift summaries end to end with real components: an in-process hub (PGlite, embedded broker), a
 * real agent process, real onnxruntime. A module whose manifest has a monitoring section is deployed
 * and scored through the friendly route (rows and a batch) and OIP; the drift summaries in the
 * telemetry windows the hub stores add up to the scored rows. A window below minRows is held back,
 * survives a graceful restart on disk, and goes out merged with later rows. The hub's
 * collect-samples command brings sample rows back with feedback labels.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baselineIdOf } from "../../drift-summary/monitoring.js";
import { columnRows, type DriftSummary } from "../../drift-summary/summary.js";
import { type AgentProcess, spawnAgent } from "../../lib/agent-process.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { COLLECT_SAMPLES } from "../../wire/commands.js";
import { PROTOCOL_VERSION } from "../../wire/messages.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { getJson, waitFor } from "../support/wait.js";

const LABELS = ["low", "mid", "high"];
const EDGES = [-3, -1.5, -0.5, 0, 0.5, 1.5, 3];
const body = {
  columns: ["f0", "f1", "f2", "f3"].map((name, index) => ({
    name,
    kind: "numeric" as const,
    source: { input: "features", index },
    edges: EDGES,
    reference: { counts: [1, 1, 1, 1, 1, 1], missing: 0, below: 0, above: 0, count: 6, mean: 0, std: 1 },
  })),
  outputs: [
    {
      name: "predicted",
      kind: "categorical" as const,
      source: { output: "logits", argmax: true as const },
      vocabulary: LABELS,
      reference: { counts: [1, 1, 1], unseen: 0, missing: 0, count: 3 },
    },
  ],
};
const MIN_ROWS = 10;

let hub: TestHub;
let agent: AgentProcess | undefined;
let device: { id: string; secret: string };
let dataDir: string | undefined;

async function startAgent(): Promise<AgentProcess> {
  const started = await spawnAgent({
    hubUrl: hub.url,
    mqttUrl: hub.mqttUrl,
    deviceId: device.id,
    secret: device.secret,
    trustKey: hub.parts.signing.publicKeyPem,
    telemetryIntervalMs: 300,
    ...(dataDir ? { dataDir } : {}),
  });
  dataDir = started.dataDir;
  await waitFor(
    () => `agent serving the monitored module\n${started.output()}`,
    async () => {
      const served = await getJson<{ modules: { name: string }[] }>(`${started.scoringUrl}/v1/modules`);
      return served?.modules.some((m) => m.name === "monitored") === true;
    },
    45_000,
  );
  return started;
}

const row = (i: number) => ({
  f0: Math.sin(i) * 2,
  f1: (i % 7) - 3,
  f2: Math.cos(i * 0.7),
  f3: i % 2 === 0 ? 5 : -5,
});

async function scoreRows(rows: Record<string, number>[]): Promise<string[]> {
  const response = await fetch(`${agent!.scoringUrl}/v1/modules/monitored/score`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(rows.length === 1 ? { features: rows[0] } : { instances: rows }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { predictionIds: string[] }).predictionIds;
}

/** Requests in the telemetry windows the hub stored. */
async function storedRequests(): Promise<number> {
  const { windows } = await hub.client.get<{ windows: { requests: number }[] }>(
    "/api/v1/telemetry?module=monitored&limit=1000",
  );
  return windows.reduce((s, w) => s + w.requests, 0);
}

/** Drift summaries the hub stored from those windows (split off into hub/monitors' tables). */
async function storedSummaries(): Promise<DriftSummary[]> {
  const rows = await hub.parts.drift.store.data.summaries({
    deviceId: device.id,
    module: "monitored",
    limit: 1000,
  });
  return rows.map((row) => row.summary as DriftSummary);
}

const driftRows = (summaries: DriftSummary[]) => summaries.reduce((s, d) => s + d.rows, 0);

beforeAll(async () => {
  hub = await startTestHub();
  const created = await hub.client.post<{ device: { id: string }; secret: string }>("/api/v1/devices", {
    id: "drift-edge",
    tags: { fleet: "drift" },
  });
  device = { id: created.device.id, secret: created.secret };
  const model = buildMlpClassifier({ inputSize: 4, hiddenSizes: [8], classes: 3, seed: 3 });
  const registered = await hub.client.request<{ version: number }>(
    "POST",
    "/api/v1/models/monitored/versions",
    model.bytes,
  );
  await hub.client.post("/api/v1/modules", {
    name: "monitored",
    version: "1.0.0",
    model: { name: "monitored", version: registered.version },
    preprocessing: {
      kind: "tabular",
      input: "features",
      features: ["f0", "f1", "f2", "f3"].map((name) => ({ name })),
    },
    postprocessing: { kind: "softmax", output: "logits", labels: LABELS },
    monitoring: {
      baselineId: baselineIdOf(body),
      ...body,
      minRows: MIN_ROWS,
      samples: { allowed: true, maxPerWindow: 3 },
    },
  });
  await hub.client.post("/api/v1/deployments", {
    module: "monitored",
    version: "1.0.0",
    selector: { tags: { fleet: "drift" } },
  });
  agent = await startAgent();
});

afterAll(async () => {
  await agent?.stop();
  await hub?.dispose();
});

describe("drift summaries from a real agent reach the hub", () => {
  it("holds a window below minRows back, keeps it across a restart, and every scored row arrives once", async () => {
    for (let i = 0; i < 4; i++) await scoreRows([row(i)]);
    await waitFor("the 4 requests at the hub", async () => (await storedRequests()) >= 4);
    expect(driftRows(await storedSummaries())).toBe(0);

    // A graceful restart: the 4 held rows go to disk, not to the hub.
    await agent!.stop();
    agent = await startAgent();
    expect(driftRows(await storedSummaries())).toBe(0);

    await scoreRows(Array.from({ length: 25 }, (_, i) => row(100 + i)));
    const data = Array.from({ length: 12 }, (_, i) => Object.values(row(200 + i))).flat();
    const infer = await fetch(`${agent.scoringUrl}/v2/models/monitored/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: [{ name: "features", shape: [12, 4], datatype: "FP32", data }] }),
    });
    expect(infer.status).toBe(200);
    const scored = 4 + 25 + 12;
    const summaries = await waitFor(
      () => `${scored} drift rows at the hub\n${agent!.output()}`,
      async () => {
        const stored = await storedSummaries();
        return driftRows(stored) === scored ? stored : undefined;
      },
    );
    for (const drift of summaries) {
      expect(drift.rows).toBeGreaterThanOrEqual(MIN_ROWS);
      expect(drift.baselineId).toBe(baselineIdOf(body));
      for (const column of [...Object.values(drift.columns), ...Object.values(drift.outputs)]) {
        expect(columnRows(column)).toBe(drift.rows);
      }
    }
    // f3 is ±5: every value is out of the training range, half below and half above.
    const f3 = summaries.map((d) => d.columns.f3!);
    const sum = (key: "below" | "above") => f3.reduce((s, c) => s + (c.kind === "numeric" ? c[key] : 0), 0);
    expect(sum("below") + sum("above")).toBe(scored);
  });

  it("answers collect-samples and sends sample rows with feedback labels", async () => {
    await hub.parts.link.publishCommand(device.id, COLLECT_SAMPLES, {
      protocol: PROTOCOL_VERSION,
      requestId: "samples-1",
      module: "monitored",
      maxPerWindow: 10,
      windows: 1,
    });
    // The command is asynchronous: score until a window with samples arrives. Feedback for a row
    // whose window closed between scoring and the feedback POST goes out as a late label with the
    // next window (wire/samples.ts), so keep scoring until every stored sample carries its label.
    const ids: string[] = [];
    const sampled = await waitFor(
      () => `a window with labelled samples\n${agent!.output()}`,
      async () => {
        const batch = await scoreRows(Array.from({ length: MIN_ROWS }, (_, i) => row(300 + ids.length + i)));
        for (const id of batch) {
          await fetch(`${agent!.scoringUrl}/v1/feedback`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ predictionId: id, label: "mid" }),
          });
        }
        ids.push(...batch);
        const stored = await hub.parts.drift.store.data.samples({ module: "monitored" });
        return stored.length > 0 && stored.every((sample) => sample.label != null) ? stored : undefined;
      },
    );
    // One window of at most min(10 asked, 3 allowed) rows.
    expect(sampled.length).toBeGreaterThan(0);
    expect(sampled.length).toBeLessThanOrEqual(3);
    for (const sample of sampled) {
      expect(ids).toContain(sample.sampleId);
      expect(Object.keys(sample.inputs as object)).toEqual(["f0", "f1", "f2", "f3"]);
      expect(LABELS).toContain((sample.outputs as { predicted: string }).predicted);
      expect(sample.label).toBe("mid");
    }
  });
});

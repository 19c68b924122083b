/**
 * Drift summaries on the real scoring path: a real MLP module with a monitoring section, scored
 * through the friendly route (one row, batches) and OIP infer; the summary counts equal a direct
 * computation over the rows sent, and samples carry the prediction ids and feedback labels.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { histogramBin } from "../../drift-summary/baseline.js";
import { decodeSummary } from "../../drift-summary/codec.js";
import { baselineIdOf } from "../../drift-summary/monitoring.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { PROTOCOL_VERSION } from "../../wire/messages.js";
import { DriftMonitor } from "../drift/drift-monitor.js";
import { mulberry32 } from "../drift/reservoir.js";
import { CLASSIFIER_LABELS, writeModuleDir } from "../runtime/test-modules.js";
import { call, type Harness, startHarness } from "./test-harness.js";

const TEMP_EDGES = [0, 10, 15, 20, 25, 30, 40];
const VIBRATION_EDGES = [-1, 0, 1];
const monitoringBody = {
  columns: [
    {
      name: "temp",
      kind: "numeric" as const,
      // Standardised in the tensor ((x - 20) / 5): the summariser undoes it.
      source: { feature: "temp" },
      edges: TEMP_EDGES,
      reference: { counts: [1, 1, 1, 1, 1, 1], missing: 0, below: 0, above: 0, count: 6, mean: 20, std: 5 },
    },
    {
      name: "vibration",
      kind: "numeric" as const,
      source: { input: "features", index: 2 },
      edges: VIBRATION_EDGES,
      reference: { counts: [1, 1], missing: 0, below: 0, above: 0, count: 2, mean: 0, std: 1 },
    },
  ],
  outputs: [
    {
      name: "predicted",
      kind: "categorical" as const,
      source: { output: "logits", argmax: true as const },
      vocabulary: [...CLASSIFIER_LABELS],
      reference: { counts: [1, 1, 1], unseen: 0, missing: 0, count: 3 },
    },
  ],
};

let h: Harness;
const drift = new DriftMonitor({ seed: () => 7 });

beforeAll(async () => {
  const model = buildMlpClassifier({ inputSize: 4, hiddenSizes: [8], classes: 3, seed: 1 });
  const dir = await writeModuleDir(model.bytes, {
    name: "classifier",
    version: "1.0.0",
    inputs: [{ name: "features", datatype: "FP32", shape: [-1, 4] }],
    outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 3] }],
    preprocessing: {
      kind: "tabular",
      input: "features",
      features: [
        { name: "temp", mean: 20, std: 5 },
        { name: "humidity", mean: 50, std: 10 },
        { name: "vibration", default: 0 },
        { name: "current" },
      ],
    },
    postprocessing: { kind: "softmax", output: "logits", labels: [...CLASSIFIER_LABELS] },
    monitoring: {
      baselineId: baselineIdOf(monitoringBody),
      ...monitoringBody,
      minRows: 5,
      samples: { allowed: true, maxPerWindow: 4 },
    },
  });
  h = await startHarness([dir], { drift });
});
afterAll(async () => {
  await h?.close();
});

function rows(n: number, seed: number) {
  const random = mulberry32(seed);
  return Array.from({ length: n }, () => ({
    temp: Math.round((random() * 50 - 5) * 100) / 100,
    humidity: Math.round(random() * 100),
    vibration: Math.round((random() * 3 - 1.5) * 1000) / 1000,
    current: random() * 3,
  }));
}

/** Counts by the baseline's own histogramBin over the values as the tensor holds them (float32). */
function expectedCounts(edges: number[], values: number[], viaTensor: (v: number) => number) {
  const counts = new Array<number>(edges.length - 1).fill(0);
  let below = 0;
  let above = 0;
  for (const v of values) {
    const b = histogramBin(edges, viaTensor(v));
    if (b < 0) below++;
    else if (b >= counts.length) above++;
    else counts[b]!++;
  }
  return { counts, below, above, missing: 0 };
}
const standardisedTemp = (v: number) => Math.fround((v - 20) / 5) * 5 + 20;

const windowOf = () =>
  drift.attach([
    {
      name: "classifier",
      version: "1.0.0",
      requests: 1,
      errors: 0,
      latencyBucketsMs: [],
      latencyCounts: [],
      latencySumMs: 0,
      inputs: [],
    },
  ])[0]!;

describe("drift summaries on the scoring path", () => {
  it("counts every scored row of single, batched and OIP requests exactly", async () => {
    windowOf();
    const single = rows(3, 1);
    const batch = rows(40, 2);
    const oip = rows(17, 3);
    const labels: string[] = [];
    for (const row of single) {
      const reply = await call(`${h.server.url}/v1/modules/classifier/score`, "POST", { features: row });
      expect(reply.status).toBe(200);
      labels.push(...(reply.body as { predictions: { label: string }[] }).predictions.map((p) => p.label));
    }
    const batchReply = await call(`${h.server.url}/v1/modules/classifier/score`, "POST", {
      instances: batch,
    });
    labels.push(...(batchReply.body as { predictions: { label: string }[] }).predictions.map((p) => p.label));
    // OIP sends the model tensor itself: standardise as the module's preprocessing would.
    const data = oip.flatMap((r) => [(r.temp - 20) / 5, (r.humidity - 50) / 10, r.vibration, r.current]);
    const infer = await call(`${h.server.url}/v2/models/classifier/infer`, "POST", {
      inputs: [{ name: "features", shape: [17, 4], datatype: "FP32", data }],
    });
    expect(infer.status).toBe(200);
    const logits = (infer.body as { outputs: { data: number[] }[] }).outputs[0]!.data;
    for (let r = 0; r < 17; r++) {
      const row = logits.slice(r * 3, r * 3 + 3);
      labels.push(CLASSIFIER_LABELS[row.indexOf(Math.max(...row))]!);
    }
    // A refused request counts nothing.
    expect(
      (await call(`${h.server.url}/v1/modules/classifier/score`, "POST", { features: { temp: "hot" } }))
        .status,
    ).toBe(400);

    // The agent sends the summary packed; decoded on the spec, it is the exact one.
    const packed = windowOf().driftPacked!;
    const summary = decodeSummary(packed, { baselineId: baselineIdOf(monitoringBody), ...monitoringBody });
    const all = [...single, ...batch, ...oip];
    expect(summary.rows).toBe(60);
    expect(summary.columns.temp).toMatchObject(
      expectedCounts(
        TEMP_EDGES,
        all.map((r) => r.temp),
        standardisedTemp,
      ),
    );
    expect(summary.columns.vibration).toMatchObject(
      expectedCounts(
        VIBRATION_EDGES,
        all.map((r) => r.vibration),
        Math.fround,
      ),
    );
    expect(summary.outputs.predicted).toEqual({
      kind: "categorical",
      counts: CLASSIFIER_LABELS.map((label) => labels.filter((l) => l === label).length),
      unseen: 0,
      missing: 0,
    });
  });

  it("samples scored rows with their prediction ids once the hub asks, and joins feedback", async () => {
    windowOf();
    const serving = h.table.get("classifier")!;
    const answer = drift.collectSamples(
      { protocol: PROTOCOL_VERSION, requestId: "s1", module: "classifier", maxPerWindow: 10, windows: 1 },
      serving,
    );
    expect(answer).toMatchObject({ ok: true, details: { maxPerWindow: 4 } });
    const batch = rows(12, 4);
    const reply = await call(`${h.server.url}/v1/modules/classifier/score`, "POST", { instances: batch });
    const { predictionIds } = reply.body as { predictionIds: string[] };
    for (const id of predictionIds) {
      expect(
        (await call(`${h.server.url}/v1/feedback`, "POST", { predictionId: id, label: "ok" })).status,
      ).toBe(200);
    }
    const window = windowOf();
    expect(
      decodeSummary(window.driftPacked!, { baselineId: baselineIdOf(monitoringBody), ...monitoringBody })
        .rows,
    ).toBe(12);
    const samples = window.samples!.rows;
    expect(samples).toHaveLength(4);
    for (const sample of samples) {
      const i = predictionIds.indexOf(sample.id);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(sample.inputs.temp).toBeCloseTo(batch[i]!.temp, 4);
      expect(sample.inputs.vibration).toBeCloseTo(batch[i]!.vibration, 6);
      expect(CLASSIFIER_LABELS).toContain(sample.outputs.predicted);
      expect(sample.label).toBe("ok");
    }
  });

  it("samples OIP rows with the prediction ids the answer carried, and joins feedback", async () => {
    windowOf();
    const serving = h.table.get("classifier")!;
    drift.collectSamples(
      { protocol: PROTOCOL_VERSION, requestId: "s2", module: "classifier", maxPerWindow: 10, windows: 1 },
      serving,
    );
    const data = rows(6, 5).flatMap((r) => [
      (r.temp - 20) / 5,
      (r.humidity - 50) / 10,
      r.vibration,
      r.current,
    ]);
    const reply = await call(`${h.server.url}/v2/models/classifier/infer`, "POST", {
      inputs: [{ name: "features", shape: [6, 4], datatype: "FP32", data }],
    });
    const ids = (reply.body as { parameters: { prediction_ids: string[] } }).parameters.prediction_ids;
    expect(ids).toHaveLength(6);
    for (const id of ids) {
      expect(
        (await call(`${h.server.url}/v1/feedback`, "POST", { predictionId: id, label: "warn" })).status,
      ).toBe(200);
    }
    const samples = windowOf().samples!.rows;
    expect(samples).toHaveLength(4);
    for (const sample of samples) {
      expect(ids).toContain(sample.id);
      expect(sample.label).toBe("warn");
    }
  });
});

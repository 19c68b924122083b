/**
 * D1: bytes of the drift summary per telemetry window (20-feature, 3-class classifier: 20 numeric
 * inputs on 20 reference-quantile bins, 3 probability columns and the predicted class), gzipped,
 * at 1k / 10k / 100k rows per window, in the packed form agents send (`driftPacked`,
 * drift-summary/codec.ts), against the same rows as raw float32 gzipped and against one
 * t-digest per column (npm `tdigest`, default compression 0.01) serialised as JSON centroids,
 * gzipped; one more line gives the plain JSON form (older agents) against the packed one.
 * D2: summariser cost per row (capture + commit on the agent's code, batch 1 and batch 32) against
 * onnxruntime's run time per row of a 20-input MLP at batch 1 on the same machine.
 */
import { gzipSync } from "node:zlib";
import * as ort from "onnxruntime-node";
import { TDigest } from "tdigest";
import { mulberry32 } from "../agent/drift/reservoir.js";
import { DriftSummariser } from "../agent/drift/summariser.js";
import { encodeSummary } from "../drift-summary/codec.js";
import { baselineIdOf, type Monitoring, MonitoringSchema } from "../drift-summary/monitoring.js";
import type { Manifest } from "../modules/manifest.js";
import { buildMlpClassifier } from "../modules/onnx/models.js";
import { numericHistogram } from "../training/baseline.js";
import { PROTOCOL_VERSION, type TelemetryWindow } from "../wire/messages.js";
import { type BenchResult, quantile, round } from "./stats.js";

const FEATURES = 20;
const CLASSES = 3;
const LABELS = ["a", "b", "c"];

/** Standard normal draws (Box-Muller) from a seeded uniform source. */
function normal(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** The monitoring spec of the benchmark model, from a 20,000-row N(0,1) reference. */
export function spec(): Monitoring {
  const draw = normal(mulberry32(1));
  const reference = (values: () => number) => {
    const h = numericHistogram(Float64Array.from({ length: 20_000 }, values));
    return {
      edges: h.edges,
      reference: {
        counts: h.counts,
        means: h.means,
        missing: h.missing,
        below: 0,
        above: 0,
        count: h.count,
        mean: h.mean,
        std: h.std,
      },
    };
  };
  const uniform = mulberry32(2);
  const body = {
    columns: Array.from({ length: FEATURES }, (_, index) => ({
      name: `f${index}`,
      kind: "numeric" as const,
      source: { input: "features", index },
      ...reference(draw),
    })),
    outputs: [
      ...LABELS.map((label, index) => ({
        name: `p(${label})`,
        kind: "numeric" as const,
        source: { output: "probabilities", index },
        ...reference(uniform),
      })),
      {
        name: "predicted",
        kind: "categorical" as const,
        source: { output: "probabilities", argmax: true as const },
        vocabulary: LABELS,
        reference: { counts: [1, 1, 1], unseen: 0, missing: 0, count: 3 },
      },
    ],
  };
  return MonitoringSchema.parse({ baselineId: baselineIdOf(body), ...body });
}

const manifest = {
  inputs: [{ name: "features", datatype: "FP32", shape: [-1, FEATURES] }],
  outputs: [{ name: "probabilities", datatype: "FP32", shape: [-1, CLASSES] }],
  preprocessing: { kind: "none" },
} as unknown as Manifest;

/** n rows of inputs (slightly shifted from the reference) and softmax outputs. */
function rows(n: number, seed: number): { inputs: Float32Array; outputs: Float32Array } {
  const draw = normal(mulberry32(seed));
  const inputs = Float32Array.from({ length: n * FEATURES }, () => draw() * 1.1 + 0.1);
  const outputs = new Float32Array(n * CLASSES);
  for (let r = 0; r < n; r++) {
    const e = [Math.exp(draw()), Math.exp(draw()), Math.exp(draw())];
    const sum = e[0]! + e[1]! + e[2]!;
    for (let k = 0; k < CLASSES; k++) outputs[r * CLASSES + k] = e[k]! / sum;
  }
  return { inputs, outputs };
}

function gzipBytes(value: string | Uint8Array): number {
  return gzipSync(value, { level: 9 }).length;
}

/** The summary of one window of n benchmark rows (seeded by n), and the rows. */
export function windowSummary(monitoring: Monitoring, n: number) {
  const data = rows(n, n);
  const summariser = new DriftSummariser(monitoring, manifest);
  const captured = summariser.capture({ features: { data: data.inputs, dims: [n, FEATURES] } }, n);
  summariser.commit(captured, { probabilities: { data: data.outputs, dims: [n, CLASSES] } }, 0);
  return { data, drift: summariser.take(10_000)! };
}

/** D1 at one window size. */
function d1(monitoring: Monitoring, n: number): BenchResult[] {
  const { data, drift } = windowSummary(monitoring, n);
  const driftPacked = encodeSummary(drift, monitoring);
  const summaryBytes = gzipBytes(JSON.stringify(driftPacked));
  const plainBytes = gzipBytes(JSON.stringify(drift));
  // The whole telemetry message as the agent publishes it (envelope + serving statistics + drift).
  const window: TelemetryWindow = {
    protocol: PROTOCOL_VERSION,
    seq: 1,
    windowStart: new Date(0).toISOString(),
    windowEnd: new Date(10_000).toISOString(),
    modules: [
      {
        name: "classifier",
        version: "1.0.0",
        requests: n,
        errors: 0,
        latencyBucketsMs: [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
        latencyCounts: [n, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        latencySumMs: n * 0.3,
        inputs: [],
        driftPacked,
      },
    ],
  };
  const windowBytes = gzipBytes(JSON.stringify(window));
  const rawBytes = gzipBytes(
    new Uint8Array(Buffer.concat([Buffer.from(data.inputs.buffer), Buffer.from(data.outputs.buffer)])),
  );
  const digests = Array.from({ length: FEATURES + CLASSES }, () => new TDigest());
  for (let r = 0; r < n; r++) {
    for (let f = 0; f < FEATURES; f++) digests[f]!.push(data.inputs[r * FEATURES + f]!);
    for (let k = 0; k < CLASSES; k++) digests[FEATURES + k]!.push(data.outputs[r * CLASSES + k]!);
  }
  const sketch = digests.map((d) => {
    d.compress();
    return d.toArray().map((c) => [c.mean, c.n]);
  });
  const sketchBytes = gzipBytes(JSON.stringify(sketch));
  const label = `${n / 1000}k rows`;
  return [
    {
      id: "D1",
      what: `drift summary per window, gzipped, vs raw float32 rows gzipped (${label})`,
      ours: summaryBytes,
      peer: rawBytes,
      unit: "bytes",
      ratio: round(summaryBytes / rawBytes, 5),
      goal: "summary ≤ 1.5 KB",
      met: summaryBytes <= 1536,
      details: { rows: n, wholeWindowGzipped: windowBytes, packedJson: JSON.stringify(driftPacked).length },
    },
    {
      id: "D1",
      what: `drift summary per window, gzipped, vs one t-digest per column gzipped (${label})`,
      ours: summaryBytes,
      peer: sketchBytes,
      unit: "bytes",
      ratio: round(summaryBytes / sketchBytes, 4),
      goal: "summary ≤ 1.5 KB",
      met: summaryBytes <= 1536,
      details: { rows: n, centroids: sketch.reduce((s, c) => s + c.length, 0) },
    },
    {
      id: "D1",
      what: `drift summary per window, gzipped: plain JSON form (older agents) vs packed (${label})`,
      ours: plainBytes,
      peer: summaryBytes,
      unit: "bytes",
      ratio: round(plainBytes / summaryBytes, 3),
      goal: "comparison only (the goal applies to the packed form agents send)",
      met: summaryBytes <= 1536,
      details: { rows: n, plainJson: JSON.stringify(drift).length },
    },
  ];
}

/** Median µs per row of `fn` over `rounds` rounds of `rowsPerRound` rows. */
async function perRowMicros(rounds: number, rowsPerRound: number, fn: () => unknown | Promise<unknown>) {
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    let done = 0;
    while (done < rowsPerRound) {
      const value = fn();
      if (value instanceof Promise) await value;
      done += 1;
    }
    samples.push(((performance.now() - started) * 1000) / rowsPerRound);
  }
  return samples;
}

/** D2: summariser µs per row (batch 1 and 32) vs onnxruntime µs per row (batch 1). */
async function d2(monitoring: Monitoring): Promise<BenchResult[]> {
  const model = buildMlpClassifier({ inputSize: FEATURES, hiddenSizes: [32], classes: CLASSES, seed: 1 });
  const session = await ort.InferenceSession.create(model.bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const data = rows(4096, 5);
  const feed = new ort.Tensor("float32", data.inputs.slice(0, FEATURES), [1, FEATURES]);
  const outputName = session.outputNames[0]!;
  const modelManifest = {
    ...manifest,
    outputs: [{ name: "probabilities", datatype: "FP32", shape: [-1, CLASSES] }],
  } as unknown as Manifest;
  const summariser = new DriftSummariser(monitoring, modelManifest);
  // Views made before timing: the route hands the summariser tensors it already has.
  const summarise = (batch: number) => {
    const steps = Array.from({ length: Math.floor(4096 / batch) }, (_, i) => ({
      features: {
        data: data.inputs.subarray(i * batch * FEATURES, (i + 1) * batch * FEATURES),
        dims: [batch, FEATURES],
      },
      probabilities: {
        data: data.outputs.subarray(i * batch * CLASSES, (i + 1) * batch * CLASSES),
        dims: [batch, CLASSES],
      },
    }));
    let i = 0;
    return () => {
      const step = steps[i++ % steps.length]!;
      const captured = summariser.capture(step, batch);
      summariser.commit(captured, step, 0);
      summariser.recycle(captured);
    };
  };
  // Warm up both (JIT, onnxruntime's first runs).
  await perRowMicros(2, 2000, () => session.run({ features: feed }, [outputName]));
  await perRowMicros(2, 20_000, summarise(1));
  const modelRun = await perRowMicros(7, 3000, () => session.run({ features: feed }, [outputName]));
  const one = await perRowMicros(7, 50_000, summarise(1));
  const step32 = summarise(32);
  const batched = (await perRowMicros(7, 2000, step32)).map((us) => us / 32);
  await session.release();
  const model50 = quantile(modelRun, 0.5);
  const result = (what: string, samples: number[]): BenchResult => {
    const ours = quantile(samples, 0.5);
    return {
      id: "D2",
      what,
      ours: round(ours, 3),
      peer: round(model50, 2),
      unit: "µs/row",
      ratio: round(ours / model50, 4),
      goal: "≤ 2 µs per row",
      met: ours <= 2,
      details: {
        p90: round(quantile(samples, 0.9), 3),
        modelP90: round(quantile(modelRun, 0.9), 2),
        rounds: 7,
      },
    };
  };
  return [
    result("drift summariser per row (20 inputs + 4 outputs), batch 1, vs session.run per row", one),
    result("drift summariser per row (20 inputs + 4 outputs), batch 32, vs session.run per row", batched),
  ];
}

export async function benchDriftBytes(): Promise<BenchResult[]> {
  const monitoring = spec();
  return [1000, 10_000, 100_000].flatMap((n) => d1(monitoring, n));
}

export async function benchDriftCost(): Promise<BenchResult[]> {
  return d2(spec());
}

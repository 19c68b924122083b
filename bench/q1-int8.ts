/**
 * Q1: what an int8 variant trades, on the MLP recipe and on the real image classifier. For each
 * model: file size (int8 vs float), latency of one request's `session.run` with the agent's own
 * session options (agent/runtime/session-options.ts, the manifest's default runtime: 1 intra-op
 * thread, no spinning), float and int8 interleaved A B B A after a warm-up, and the accuracy delta:
 *
 * - MLP recipe: trained with the built-in trainer on the vendored breast cancer (30 features,
 *   classification) and diabetes (regression) sets; float and int8 measured by the hub's own
 *   code (hub/quantization/measure.ts) on the run's test split.
 * - PaddleOCR text orientation (modules/examples/text-orientation.ts): text lines rendered with
 *   DejaVu Sans (renderTextLinePng; needs the font, else only the committed image is used), upright
 *   (label "0") and turned 180° (label "180"), through the module's own image preprocessing.
 *
 * The peer is the float model in the same run; `ratio` is int8 / float latency p50.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { sessionOptions } from "../agent/runtime/session-options.js";
import { measureInt8 } from "../hub/quantization/measure.js";
import { projectRoot } from "../lib/paths.js";
import {
  readTextLinePng,
  readTextOrientationModel,
  renderTextLinePng,
  textOrientationManifest,
} from "../modules/examples/text-orientation.js";
import { imageToTensor } from "../modules/image-preprocess.js";
import { type ImagePreprocessing, parseManifest, RuntimeOptionsSchema } from "../modules/manifest.js";
import { quantizeDynamic } from "../modules/onnx/quantize/index.js";
import { datasetFromTable } from "../training/dataset/dataset.js";
import { readTable } from "../training/dataset/read.js";
import { train } from "../training/train.js";
import { type BenchResult, quantile, round } from "./stats.js";

const AGENT_OPTIONS = sessionOptions(RuntimeOptionsSchema.parse({}));

/** p50/p95 (µs) of session.run for each side, interleaved A B B A. */
async function latency(
  sessions: [ort.InferenceSession, ort.InferenceSession],
  feeds: Record<string, ort.Tensor>,
  blocks = 10,
  perBlock = 30,
) {
  const run = async (s: ort.InferenceSession) => {
    const start = process.hrtime.bigint();
    await s.run(feeds);
    return Number(process.hrtime.bigint() - start) / 1000;
  };
  for (let i = 0; i < 20; i++) for (const s of sessions) await run(s);
  const samples: [number[], number[]] = [[], []];
  const ratios: number[] = [];
  for (let b = 0; b < blocks; b++) {
    const order = b % 2 === 0 ? [0, 1] : [1, 0];
    const block: [number[], number[]] = [[], []];
    for (const side of order)
      for (let i = 0; i < perBlock; i++) block[side as 0 | 1].push(await run(sessions[side]!));
    samples[0].push(...block[0]);
    samples[1].push(...block[1]);
    ratios.push(quantile(block[1], 0.5) / quantile(block[0], 0.5));
  }
  return {
    float: { p50: quantile(samples[0], 0.5), p95: quantile(samples[0], 0.95) },
    int8: { p50: quantile(samples[1], 0.5), p95: quantile(samples[1], 0.95) },
    ratioSpread: `${round(Math.min(...ratios), 2)}..${round(Math.max(...ratios), 2)}`,
  };
}

async function mlpCase(
  file: string,
  target: string,
  task: "classification" | "regression",
): Promise<BenchResult> {
  const path = join(projectRoot(), "test", "fixtures", "datasets", file);
  const source = { path, format: "csv" as const };
  const dataset = datasetFromTable(await readTable(source), { target, task });
  const trained = await train({ dataset, task, target, recipe: "mlp", seed: 0 });
  const dir = await mkdtemp(join(tmpdir(), "edgefleet-q1-"));
  try {
    const modelPath = join(dir, "model.onnx");
    await writeFile(modelPath, trained.onnx);
    const m = await measureInt8({ modelPath, dataset: source, spec: { task, target, seed: 0 } });
    const sessions = [
      await ort.InferenceSession.create(trained.onnx, AGENT_OPTIONS),
      await ort.InferenceSession.create(m.bytes, AGENT_OPTIONS),
    ] as [ort.InferenceSession, ort.InferenceSession];
    const width = trained.features.length;
    const row = new ort.Tensor(
      "float32",
      Float32Array.from({ length: width }, (_, i) => Math.sin(i)),
      [1, width],
    );
    const lat = await latency(sessions, { features: row });
    for (const s of sessions) await s.release();
    return {
      id: "Q1",
      what: `int8 vs float, MLP recipe on ${file} (${m.metric}), session.run p50 with the agent's options`,
      ours: round(lat.int8.p50, 1),
      peer: round(lat.float.p50, 1),
      unit: "us",
      ratio: round(lat.int8.p50 / lat.float.p50, 2),
      goal: `${m.metric} within 1 % relative; smaller file`,
      met: m.relativeLoss <= 0.01 && m.bytes.byteLength < trained.onnx.byteLength,
      details: {
        bytesFloat: trained.onnx.byteLength,
        bytesInt8: m.bytes.byteLength,
        [`${m.metric}Float`]: round(m.float, 4),
        [`${m.metric}Int8`]: round(m.int8, 4),
        relativeLossPct: round(m.relativeLoss * 100, 3),
        testRows: m.testRows,
        p95Float: round(lat.float.p95, 1),
        p95Int8: round(lat.int8.p95, 1),
        ratioSpread: lat.ratioSpread,
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const LINES = [
  "Hello, world",
  "edgefleet 2026",
  "The quick brown fox",
  "Invoice no. 4471",
  "Total: 38.50 EUR",
  "Raspberry Pi 5",
  "onnxruntime int8",
  "Kilometre 12.4",
  "Batch A-113",
  "Serial 0x7F3A",
  "Paris - Lyon",
  "Temperature 21 C",
  "Pressure 1013 hPa",
  "lot 55 / pallet 9",
  "Order 88123",
  "Shipping label",
  "Fragile: handle with care",
  "Made in EU",
  "www.example.org",
  "Line 3 of 7",
];

async function imageCase(): Promise<BenchResult> {
  const floatBytes = new Uint8Array(await readTextOrientationModel());
  const int8 = quantizeDynamic(floatBytes);
  const manifest = parseManifest({
    schemaVersion: 1,
    model: { file: "model.onnx", sha256: "0".repeat(64), size: floatBytes.length },
    createdAt: new Date().toISOString(),
    ...textOrientationManifest(),
  });
  const pre = manifest.preprocessing as ImagePreprocessing;
  let images: Buffer[] = [await readTextLinePng()];
  try {
    images = await Promise.all(LINES.map((text) => renderTextLinePng(text)));
  } catch {
    // No font: the committed image alone (and its rotation).
  }
  const cases: { tensor: Float32Array; label: number }[] = [];
  for (const png of images) {
    for (const [label, bytes] of [
      [0, png],
      [1, await sharp(png).rotate(180).png().toBuffer()],
    ] as const) {
      cases.push({ tensor: (await imageToTensor(pre, bytes)).data as Float32Array, label });
    }
  }
  const sessions = [
    await ort.InferenceSession.create(floatBytes, AGENT_OPTIONS),
    await ort.InferenceSession.create(int8.bytes, AGENT_OPTIONS),
  ] as [ort.InferenceSession, ort.InferenceSession];
  const output = "softmax_0.tmp_0";
  const correct = [0, 0];
  let agree = 0;
  let maxDiff = 0;
  for (const c of cases) {
    const feeds = { x: new ort.Tensor("float32", c.tensor, [1, 3, 48, 192]) };
    const [a, b] = [
      (await sessions[0].run(feeds))[output]!.data as Float32Array,
      (await sessions[1].run(feeds))[output]!.data as Float32Array,
    ];
    const la = a[1]! > a[0]! ? 1 : 0;
    const lb = b[1]! > b[0]! ? 1 : 0;
    if (la === c.label) correct[0]!++;
    if (lb === c.label) correct[1]!++;
    if (la === lb) agree++;
    maxDiff = Math.max(maxDiff, Math.abs(a[1]! - b[1]!));
  }
  const lat = await latency(
    sessions,
    { x: new ort.Tensor("float32", cases[0]!.tensor, [1, 3, 48, 192]) },
    8,
    20,
  );
  for (const s of sessions) await s.release();
  const accFloat = correct[0]! / cases.length;
  const accInt8 = correct[1]! / cases.length;
  return {
    id: "Q1",
    what: "int8 vs float, PaddleOCR text orientation (image), session.run p50 with the agent's options",
    ours: round(lat.int8.p50, 1),
    peer: round(lat.float.p50, 1),
    unit: "us",
    ratio: round(lat.int8.p50 / lat.float.p50, 2),
    goal: "accuracy within 1 % relative; smaller file",
    met: accFloat - accInt8 <= 0.01 * accFloat && int8.bytes.byteLength < floatBytes.byteLength,
    details: {
      bytesFloat: floatBytes.byteLength,
      bytesInt8: int8.bytes.byteLength,
      images: cases.length,
      accuracyFloat: round(accFloat, 4),
      accuracyInt8: round(accInt8, 4),
      labelAgreement: round(agree / cases.length, 4),
      maxProbabilityDiff: round(maxDiff, 4),
      p95Float: round(lat.float.p95, 1),
      p95Int8: round(lat.int8.p95, 1),
      ratioSpread: lat.ratioSpread,
    },
  };
}

/** Q1: size, latency and accuracy of int8 variants against their float models. */
export async function benchInt8(): Promise<BenchResult[]> {
  return [
    await mlpCase("breast-cancer-wisconsin.csv", "diagnosis", "classification"),
    await mlpCase("diabetes.csv", "progression", "regression"),
    await imageCase(),
  ];
}

/**
 * Quantize one model version and measure what int8 costs: the float and the int8 ONNX files run
 * through onnxruntime on the same test split (re-derived from the dataset bytes with the run's seed
 * and fractions, as the completion check does), and the figures the threshold needs come out.
 *
 * CPU work on files only, so it runs in a worker thread (measure-thread.ts); input and output are
 * plain data.
 */
import { readFile } from "node:fs/promises";
import ort from "onnxruntime-node";
import {
  type QuantizableOp,
  quantizeDynamic,
  quantizeStaticWithCalibration,
} from "../../modules/onnx/quantize/index.js";
import { metricsOf } from "../../training/auto.js";
import { type DatasetFormat, NO_DATASET_LIMITS } from "../../training/dataset/read.js";
import { runOnnx } from "../../training/evaluate/onnx-check.js";
import { feedsFromColumns } from "../../training/features/inputs.js";
import { loadRunDataset, type RunDataSpec, testSplit } from "../../training/run-data.js";
import type { ModelInt8 } from "../db/schema/models.js";

export interface MeasureInput {
  /** The float model's blob file. */
  modelPath: string;
  dataset: { path: string; format: DatasetFormat };
  extraRowsPath?: string;
  spec: RunDataSpec;
  ops?: QuantizableOp[];
  /** Default dynamic. */
  mode?: "dynamic" | "static";
}

/**
 * Training rows that calibrate static activation ranges: a seeded sample of the training split, never
 * the test rows the variant is judged on. A few hundred rows fix min/max of a tabular model's
 * activations; more only cost time.
 */
export const CALIBRATION_ROWS = 1000;

/**
 * What one measurement finds: the quantized bytes and the figures a version's int8 record keeps
 * (the record's own type, so the measurement and the stored column cannot drift apart).
 */
export type Int8Measurement = { bytes: Uint8Array } & Pick<
  ModelInt8,
  | "quantized"
  | "skipped"
  | "opset"
  | "metric"
  | "higherIsBetter"
  | "float"
  | "int8"
  | "relativeLoss"
  | "testRows"
  | "metrics"
  | "mode"
  | "calibrationRows"
>;

/** The metric an int8 threshold is judged on: accuracy for classifiers, RMSE for regressors. */
export function thresholdMetric(task: RunDataSpec["task"]): { metric: string; higherIsBetter: boolean } {
  return task === "classification"
    ? { metric: "accuracy", higherIsBetter: true }
    : { metric: "rmse", higherIsBetter: false };
}

/** How much worse `int8` is than `float`, relative to float (negative when it is better). */
export function relativeLoss(float: number, int8: number, higherIsBetter: boolean): number {
  const worse = higherIsBetter ? float - int8 : int8 - float;
  if (worse === 0) return 0;
  return Math.abs(float) > 0 ? worse / Math.abs(float) : Number.POSITIVE_INFINITY * Math.sign(worse);
}

const finite = (metrics: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(metrics).map(([k, v]) => [k, typeof v === "number" && Number.isFinite(v) ? v : null]),
  );

/** Quantizes the model and measures both files on the test split. */
export async function measureInt8(input: MeasureInput): Promise<Int8Measurement> {
  const floatBytes = new Uint8Array(await readFile(input.modelPath));
  const options = input.ops ? { ops: input.ops } : {};
  const extraRows = input.extraRowsPath ? new Uint8Array(await readFile(input.extraRowsPath)) : undefined;
  const dataset = await loadRunDataset(input.dataset, input.spec, {
    ...(extraRows ? { extraRows } : {}),
    limits: NO_DATASET_LIMITS,
  });
  const split = testSplit(dataset, input.spec);
  const mode = input.mode ?? "dynamic";
  let calibrationRows: number | undefined;
  let result: ReturnType<typeof quantizeDynamic> | Awaited<ReturnType<typeof quantizeStaticWithCalibration>>;
  if (mode === "static") {
    const train = split.prepared.split.train;
    // Evenly spaced training rows: deterministic, and spread over the (shuffled) split.
    const step = Math.max(1, train.length / CALIBRATION_ROWS);
    const rows = Uint32Array.from(
      { length: Math.min(train.length, CALIBRATION_ROWS) },
      (_, i) => train[Math.floor(i * step)]!,
    );
    calibrationRows = rows.length;
    const raw = feedsFromColumns(split.prepared.encoder, split.prepared.features, rows, "vector");
    const feeds = Object.fromEntries(
      Object.entries(raw).map(([name, f]) => [name, new ort.Tensor(f.type, f.data, f.dims)]),
    );
    result = await quantizeStaticWithCalibration(floatBytes, [feeds], options);
  } else {
    result = quantizeDynamic(floatBytes, options);
  }
  const classes = split.classes.length;
  const measure = async (bytes: Uint8Array) => {
    const outputs = await runOnnx(bytes, split.feeds, classes);
    return metricsOf(
      input.spec.task,
      Float64Array.from(outputs.values),
      split.y,
      classes,
    ) as unknown as Record<string, number>;
  };
  const floatMetrics = await measure(floatBytes);
  const int8Metrics = await measure(result.bytes);
  const { metric, higherIsBetter } = thresholdMetric(input.spec.task);
  const quantized: Record<string, number> = {};
  for (const node of result.quantized) quantized[node.op] = (quantized[node.op] ?? 0) + 1;
  return {
    bytes: result.bytes,
    mode,
    ...(calibrationRows !== undefined ? { calibrationRows } : {}),
    quantized,
    skipped: result.skipped.length,
    opset: result.opset,
    metric,
    higherIsBetter,
    float: floatMetrics[metric]!,
    int8: int8Metrics[metric]!,
    relativeLoss: relativeLoss(floatMetrics[metric]!, int8Metrics[metric]!, higherIsBetter),
    testRows: split.rows.length,
    metrics: { float: finite(floatMetrics), int8: finite(int8Metrics) },
  };
}

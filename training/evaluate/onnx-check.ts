/**
 * Runs an exported model with onnxruntime-node and compares its answers with the trainer's own:
 * the shipped artefact must predict what was measured. A mismatch fails the run.
 */
import ort from "onnxruntime-node";
import type { RawFeed } from "../features/inputs.js";
import { OUTPUTS } from "../trainers/heads.js";
import { argmax } from "./metrics.js";

export interface OnnxOutputs {
  /** Classification: [rows × classes]; regression: one per row. */
  values: Float32Array;
  /** Classification only: the model's `label` output. */
  labels?: number[];
}

/** Loads `bytes` into a fresh session, runs the feeds, and releases the session. */
export async function runOnnx(
  bytes: Uint8Array,
  feeds: Record<string, RawFeed>,
  classes: number,
): Promise<OnnxOutputs> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const tensors: Record<string, ort.Tensor> = {};
    for (const [name, feed] of Object.entries(feeds))
      tensors[name] = new ort.Tensor(feed.type, feed.data, feed.dims);
    if (classes === 0) {
      const out = await session.run(tensors, [OUTPUTS.prediction]);
      return { values: Float32Array.from(out[OUTPUTS.prediction]!.data as Float32Array) };
    }
    const out = await session.run(tensors, [OUTPUTS.label, OUTPUTS.probabilities]);
    return {
      values: Float32Array.from(out[OUTPUTS.probabilities]!.data as Float32Array),
      labels: Array.from(out[OUTPUTS.label]!.data as BigInt64Array, Number),
    };
  } finally {
    await session.release();
  }
}

export interface ParityReport {
  ok: boolean;
  rows: number;
  /** Largest |onnx - trainer| over all compared values. */
  maxAbsDiff: number;
  /** Allowed difference: absolute for probabilities, relative (1 + |value|) for regression. */
  tolerance: number;
  /** Rows whose ONNX label differs from the trainer's (ties within tolerance excused). */
  labelMismatches: number;
  /** A few offending rows, for the run log. */
  examples: { row: number; trainer: number; onnx: number }[];
}

/** Compares ONNX outputs with the trainer's predictions on the same rows. */
export function compareOutputs(
  trainer: Float64Array,
  onnx: OnnxOutputs,
  classes: number,
  tolerance = 1e-4,
): ParityReport {
  const examples: ParityReport["examples"] = [];
  let maxAbsDiff = 0;
  let bad = 0;
  if (trainer.length !== onnx.values.length) {
    return {
      ok: false,
      rows: 0,
      maxAbsDiff: Number.POSITIVE_INFINITY,
      tolerance,
      labelMismatches: 0,
      examples,
    };
  }
  const width = Math.max(classes, 1);
  for (let i = 0; i < trainer.length; i++) {
    const diff = Math.abs(trainer[i]! - onnx.values[i]!);
    maxAbsDiff = Math.max(maxAbsDiff, diff);
    const allowed = classes === 0 ? tolerance * (1 + Math.abs(trainer[i]!)) : tolerance;
    if (!(diff <= allowed)) {
      bad++;
      if (examples.length < 5)
        examples.push({ row: Math.floor(i / width), trainer: trainer[i]!, onnx: onnx.values[i]! });
    }
  }
  let labelMismatches = 0;
  if (onnx.labels !== undefined) {
    onnx.labels.forEach((label, i) => {
      const mine = argmax(trainer, i * classes, classes);
      // A near-tie may fall either way in float32; only a clear disagreement counts.
      if (!(label >= 0 && label < classes)) labelMismatches++;
      else if (label !== mine && trainer[i * classes + mine]! - trainer[i * classes + label]! > 2 * tolerance)
        labelMismatches++;
    });
  }
  const rows = trainer.length / width;
  return { ok: bad === 0 && labelMismatches === 0, rows, maxAbsDiff, tolerance, labelMismatches, examples };
}

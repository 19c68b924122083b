/**
 * Challenger vs champion on labelled device samples. Both ONNX models run in onnxruntime-node on
 * the same rows, fed exactly as the agent feeds them (modules/preprocess.ts tabularFeeds over the
 * version's `training.features`). Classifiers are compared on accuracy, regressors on RMSE.
 *
 * The collected samples are split by a hash of their id: the "train" half goes to the run as extra
 * rows, the "holdout" half is only ever used here, so the challenger is not judged on rows it was
 * fitted to.
 */
import { createHash } from "node:crypto";
import ort from "onnxruntime-node";
import type { Manifest } from "../../modules/manifest.js";
import { tabularFeeds } from "../../modules/preprocess.js";
import type { ModelTraining } from "../db/schema/models.js";

export interface LabelledRow {
  id: string;
  inputs: Record<string, unknown>;
  label: string | number;
}

export interface ModelScore {
  metric: "accuracy" | "rmse";
  value: number;
  rows: number;
}

/** True for rows kept out of training and used to compare the models (about half). */
export function isHoldout(row: Pick<LabelledRow, "id">): boolean {
  return createHash("sha256").update(row.id).digest()[0]! < 128;
}

/** A sample's values as the score route takes them: vocabulary names stay, booleans become 0/1, nulls drop. */
export function featureRow(
  training: ModelTraining,
  inputs: Record<string, unknown>,
): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const feature of training.features) {
    const value = inputs[feature.name];
    if (value === null || value === undefined) continue;
    if (feature.categories) row[feature.name] = value;
    else if (value === "true" || value === true) row[feature.name] = 1;
    else if (value === "false" || value === false) row[feature.name] = 0;
    else if (typeof value === "number") row[feature.name] = value;
    else if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value)))
      row[feature.name] = Number(value);
  }
  return row;
}

/** A training-set line for a sample: its values by column plus the target. */
export function datasetRow(training: ModelTraining, row: LabelledRow): Record<string, unknown> {
  const line: Record<string, unknown> = {};
  for (const feature of training.features) line[feature.name] = row.inputs[feature.name] ?? null;
  line[training.target] = row.label;
  return line;
}

/** Scores one model on labelled rows. */
export async function scoreModel(
  onnx: Uint8Array,
  training: ModelTraining,
  rows: readonly LabelledRow[],
): Promise<ModelScore> {
  const metric = training.task === "classification" ? "accuracy" : "rmse";
  if (rows.length === 0) return { metric, value: Number.NaN, rows: 0 };
  const manifest = {
    name: "retraining-compare",
    preprocessing: { kind: "tabular", input: "features", features: training.features },
  } as unknown as Manifest;
  const session = await ort.InferenceSession.create(onnx);
  try {
    let hits = 0;
    let squares = 0;
    const batch = 512;
    for (let start = 0; start < rows.length; start += batch) {
      const part = rows.slice(start, start + batch);
      const feed = tabularFeeds(
        manifest,
        part.map((r) => featureRow(training, r.inputs)),
        { maxRows: batch },
      ).features!;
      const outputs = await session.run({ features: new ort.Tensor("float32", feed.data, feed.shape) });
      if (metric === "accuracy") {
        const labels = outputs.label!.data as BigInt64Array | Int32Array | Float32Array;
        part.forEach((row, i) => {
          if (training.classes[Number(labels[i])] === String(row.label)) hits++;
        });
      } else {
        const predictions = outputs.prediction!.data as Float32Array;
        part.forEach((row, i) => {
          squares += (predictions[i]! - Number(row.label)) ** 2;
        });
      }
    }
    const value = metric === "accuracy" ? hits / rows.length : Math.sqrt(squares / rows.length);
    return { metric, value, rows: rows.length };
  } finally {
    await session.release();
  }
}

/** Whether the challenger wins: accuracy higher by `margin`, or RMSE lower by the fraction `margin`. */
export function challengerWins(challenger: ModelScore, champion: ModelScore, margin: number): boolean {
  if (!(challenger.rows > 0) || Number.isNaN(challenger.value)) return false;
  if (Number.isNaN(champion.value)) return true;
  return challenger.metric === "accuracy"
    ? challenger.value >= champion.value + margin
    : challenger.value <= champion.value * (1 - margin);
}

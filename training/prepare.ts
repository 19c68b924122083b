/**
 * Dataset → what trainers consume: the seeded split, the learned feature encoder, design matrices
 * for train/validation/test, and the target as class indices (sorted class names) or numbers.
 */
import type { Dataset } from "./dataset/dataset.js";
import type { Task, TypedColumn } from "./dataset/schema.js";
import { DEFAULT_SPLIT, type Split, type SplitFractions, splitRows } from "./dataset/split.js";
import { DatasetError, TrainingError } from "./errors.js";
import { type EncoderOptions, encodeRows, type FeatureEncoder, fitEncoder } from "./features/encoder.js";
import type { DesignSet, TrainingData } from "./trainers/types.js";

export interface PrepareOptions extends EncoderOptions {
  task: Task;
  target: string;
  seed: number;
  split?: SplitFractions;
}

export interface Prepared {
  task: Task;
  target: string;
  /** Class names, in the order of class indices and of the `probabilities` output; empty for regression. */
  classes: string[];
  /** Feature columns (every non-ignored column but the target). */
  features: TypedColumn[];
  /** Numeric target per dataset row (a class index for classification). */
  y: Float64Array;
  split: Split;
  encoder: FeatureEncoder;
  data: TrainingData;
  test: DesignSet;
}

const byName = new Intl.Collator("en", { numeric: true }).compare;

/** The target as numbers per row, and the class names for classification. */
function targetOf(dataset: Dataset, task: Task, target: string): { y: Float64Array; classes: string[] } {
  const column = dataset.columns.find((c) => c.name === target);
  if (column === undefined) {
    const ignored = dataset.schema.some((c) => c.name === target);
    throw new DatasetError(
      "unknown_column",
      ignored
        ? `target "${target}" is an ignored column; override its kind`
        : `target column "${target}" does not exist`,
      { column: target },
    );
  }
  const numeric = column.kind === "numeric" || column.kind === "boolean";
  const missing = (row: number) =>
    new DatasetError("bad_target", `the target "${target}" is missing in data row ${row + 1}`, {
      row: row + 1,
      column: target,
    });
  if (task === "regression") {
    if (!numeric)
      throw new DatasetError(
        "bad_target",
        `a regression target must be numeric; "${target}" is ${column.kind}`,
      );
    const y = Float64Array.from(column.values as Float64Array);
    const gap = y.findIndex(Number.isNaN);
    if (gap !== -1) throw missing(gap);
    return { y, classes: [] };
  }
  const labels = numeric
    ? Array.from(column.values as Float64Array, (v) => (Number.isNaN(v) ? null : String(v)))
    : (column.values as (string | null)[]);
  const gap = labels.indexOf(null);
  if (gap !== -1) throw missing(gap);
  const classes = [...new Set(labels as string[])].sort(byName);
  if (classes.length < 2) throw new DatasetError("bad_target", `the target "${target}" has a single class`);
  const index = new Map(classes.map((c, k) => [c, k]));
  return { y: Float64Array.from(labels, (l) => index.get(l!)!), classes };
}

/** Splits, fits the encoder on the training rows, and builds the design matrices. */
export function prepare(dataset: Dataset, options: PrepareOptions): Prepared {
  const { task, target, seed } = options;
  const { y, classes } = targetOf(dataset, task, target);
  const features = dataset.columns.filter((c) => c.name !== target);
  if (features.length === 0)
    throw new DatasetError("empty", "the dataset has no feature columns besides the target");
  const split = splitRows(
    dataset.rows,
    seed,
    options.split ?? DEFAULT_SPLIT,
    task === "classification" ? Array.from(y, String) : undefined,
  );
  if (split.train.length < 2) throw new TrainingError("no_data", "the training split has fewer than 2 rows");
  if (split.test.length === 0)
    throw new TrainingError("no_data", "the test split is empty; the model cannot be evaluated");
  const encoder = fitEncoder(features, split.train, options);
  const design = (rows: Uint32Array): DesignSet => ({
    x: encodeRows(encoder, features, rows),
    rows: rows.length,
    y: Float64Array.from(rows, (r) => y[r]!),
  });
  return {
    task,
    target,
    classes,
    features,
    y,
    split,
    encoder,
    data: {
      task,
      width: encoder.width,
      classes: classes.length,
      train: design(split.train),
      validation: design(split.validation),
    },
    test: design(split.test),
  };
}

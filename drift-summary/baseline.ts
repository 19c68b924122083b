/**
 * The baseline profile of a model's training data, as the hub stores it with the model version and
 * the drift monitor reads it: per numeric feature quantile bins (plus below-range, above-range and
 * missing) with per-bin counts and means; per categorical feature the training vocabulary's
 * frequencies plus unseen and missing; and the output distribution. Built by training/baseline.ts;
 * `histogramBin` is the one binning rule that training, devices and the hub share.
 */
export const BASELINE_SCHEMA_VERSION = 1;

/** Bins of one numeric quantity. Bin i holds edges[i] <= x < edges[i+1]; the last one includes its upper edge. */
export interface NumericHistogram {
  count: number;
  missing: number;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  edges: number[];
  /** Per bin: how many training values, and their mean (null for an empty bin). */
  counts: number[];
  means: (number | null)[];
  /** Values outside [edges[0], edges[last]]: zero in training, the drift signal on devices. */
  below: number;
  above: number;
}

export type FeatureBaseline =
  | ({ name: string; kind: "numeric" | "boolean" } & NumericHistogram)
  | {
      name: string;
      kind: "categorical";
      count: number;
      missing: number;
      /** The model's vocabulary, in code order, with training counts. */
      vocabulary: { value: string; count: number }[];
      /** Values outside the model's vocabulary (rare categories cut by the vocabulary cap). */
      unseen: number;
    };

export type OutputBaseline =
  | {
      kind: "probabilities";
      classes: string[];
      /** How often each class is the prediction. */
      predicted: number[];
      /** Per class: the distribution of its softmax probability. */
      probabilities: NumericHistogram[];
    }
  | { kind: "regression"; prediction: NumericHistogram };

export interface BaselineProfile {
  schemaVersion: typeof BASELINE_SCHEMA_VERSION;
  task: "classification" | "regression";
  target: string;
  datasetVersion: string;
  /** Training rows profiled. */
  rows: number;
  /** How the model takes its features: one [batch, F] tensor, or one tensor per column. */
  inputMode: "vector" | "columns";
  features: FeatureBaseline[];
  output: OutputBaseline;
}

/** Bin of `x` under `edges`: -1 below range, edges.length - 1 above, else the bin index. */
export function histogramBin(edges: readonly number[], x: number): number {
  const last = edges.length - 1;
  if (x < edges[0]!) return -1;
  if (x > edges[last]!) return last;
  if (last === 0) return 0;
  let lo = 0;
  let hi = last - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (edges[mid]! <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

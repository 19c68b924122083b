/**
 * The baseline profile of the training data, stored with the model version as JSON. The drift
 * monitor compares device telemetry against it: per numeric feature ~20 quantile bins (plus
 * below-range, above-range and missing) with per-bin counts and means; per categorical feature
 * the training vocabulary's frequencies plus unseen and missing; and the output distribution
 * (each class's softmax probability, or the regression output, binned the same way).
 */
import {
  BASELINE_SCHEMA_VERSION,
  type BaselineProfile,
  type FeatureBaseline,
  histogramBin,
  type NumericHistogram,
  type OutputBaseline,
} from "../drift-summary/baseline.js";
import { quantileSorted, sortedPresent } from "./dataset/stats.js";
import type { InputMode } from "./features/inputs.js";
import type { Prepared } from "./prepare.js";

/** Quantile bins per numeric feature (fewer when values repeat). */
export const BASELINE_BINS = 20;

/** Quantile bins of a sample (NaN = missing). */
export function numericHistogram(values: ArrayLike<number>, bins = BASELINE_BINS): NumericHistogram {
  const sorted = sortedPresent(values);
  const n = sorted.length;
  if (n === 0) {
    return {
      count: values.length,
      missing: values.length,
      mean: null,
      std: null,
      min: null,
      max: null,
      edges: [],
      counts: [],
      means: [],
      below: 0,
      above: 0,
    };
  }
  const edges: number[] = [];
  for (let b = 0; b <= bins; b++) {
    const q = quantileSorted(sorted, b / bins);
    if (edges.length === 0 || q > edges[edges.length - 1]!) edges.push(q);
  }
  const binCount = Math.max(edges.length - 1, 1);
  const counts = new Array<number>(binCount).fill(0);
  const sums = new Array<number>(binCount).fill(0);
  let sum = 0;
  for (const v of sorted) {
    const b = Math.min(histogramBin(edges, v), binCount - 1);
    counts[b]!++;
    sums[b]! += v;
    sum += v;
  }
  const mean = sum / n;
  let squares = 0;
  for (const v of sorted) squares += (v - mean) ** 2;
  return {
    count: values.length,
    missing: values.length - n,
    mean,
    std: Math.sqrt(squares / n),
    min: sorted[0]!,
    max: sorted[n - 1]!,
    edges,
    counts,
    means: counts.map((c, b) => (c > 0 ? sums[b]! / c : null)),
    below: 0,
    above: 0,
  };
}

/** Profiles the training rows and the model's outputs on them (`outputs` as TrainedModel.predict gives). */
export function buildBaseline(
  prepared: Prepared,
  datasetVersion: string,
  outputs: Float64Array,
  inputMode: InputMode,
): BaselineProfile {
  const rows = prepared.split.train;
  const byName = new Map(prepared.features.map((c) => [c.name, c]));
  const features = prepared.encoder.features.map((feature): FeatureBaseline => {
    const values = byName.get(feature.name)!.values;
    if (feature.kind !== "categorical") {
      const picked = Float64Array.from(rows, (r) => values[r] as number);
      return { name: feature.name, kind: feature.kind, ...numericHistogram(picked) };
    }
    const codes = new Map(feature.vocabulary.map((v, k) => [v, k]));
    const counts = new Array<number>(feature.vocabulary.length).fill(0);
    let missing = 0;
    let unseen = 0;
    for (const r of rows) {
      const value = values[r] as string | null;
      if (value === null) missing++;
      else {
        const code = codes.get(value);
        if (code === undefined) unseen++;
        else counts[code]!++;
      }
    }
    return {
      name: feature.name,
      kind: "categorical",
      count: rows.length,
      missing,
      vocabulary: feature.vocabulary.map((value, k) => ({ value, count: counts[k]! })),
      unseen,
    };
  });
  return {
    schemaVersion: BASELINE_SCHEMA_VERSION,
    task: prepared.task,
    target: prepared.target,
    datasetVersion,
    rows: rows.length,
    inputMode,
    features,
    output: outputBaseline(prepared.classes, outputs, rows.length),
  };
}

function outputBaseline(classes: string[], outputs: Float64Array, rows: number): OutputBaseline {
  if (classes.length === 0) return { kind: "regression", prediction: numericHistogram(outputs) };
  const c = classes.length;
  const predicted = new Array<number>(c).fill(0);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (outputs[i * c + k]! > outputs[i * c + best]!) best = k;
    predicted[best]!++;
  }
  return {
    kind: "probabilities",
    classes,
    predicted,
    probabilities: classes.map((_, k) =>
      numericHistogram(Float64Array.from({ length: rows }, (_, i) => outputs[i * c + k]!)),
    ),
  };
}

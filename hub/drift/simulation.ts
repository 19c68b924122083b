/**
 * Seeded synthetic monitoring data for the drift tests and the drift benchmark (bench/drift-*.ts):
 * 20 features (8 normal, 6 skewed, 6 categorical), a training sample binned exactly as
 * training/baseline.ts bins it, and windows summarised on those bins as a device would
 * (drift-summary/summary.ts: counts, integer offsets for bin means, out-of-range sums).
 */

import { histogramBin } from "../../drift-summary/baseline.js";
import { baselineIdOf, type MonitoredColumn } from "../../drift-summary/monitoring.js";
import { type ColumnSummary, OFFSET_STEPS } from "../../drift-summary/summary.js";
import { seededRandom } from "../../modules/onnx/random.js";
import { numericHistogram } from "../../training/baseline.js";
import type { DriftSummaryLike, MonitoringSpecLike } from "./types.js";

export type FeatureSpec =
  | { name: string; kind: "normal"; mean: number; std: number }
  | { name: string; kind: "lognormal"; sigma: number; scale: number }
  | { name: string; kind: "exponential"; rate: number }
  | { name: string; kind: "categorical"; weights: number[] };

/** A change applied to one feature's draws. */
export interface Shift {
  feature: string;
  /** Added to numeric values, in units of the feature's standard deviation. */
  meanSigmas?: number;
  /** Multiplies the deviation from the mean. */
  scale?: number;
  /** Categorical: moves this share of the first category's mass to the last category. */
  moveShare?: number;
}

/** The 20 benchmark features. */
export function standardFeatures(): FeatureSpec[] {
  const features: FeatureSpec[] = [];
  for (let i = 0; i < 8; i++)
    features.push({ name: `n${i}`, kind: "normal", mean: i * 3 - 5, std: 0.5 + i * 0.4 });
  for (let i = 0; i < 3; i++)
    features.push({ name: `ln${i}`, kind: "lognormal", sigma: 0.5 + i * 0.3, scale: 1 + i });
  for (let i = 0; i < 3; i++) features.push({ name: `exp${i}`, kind: "exponential", rate: 0.5 + i });
  const sizes = [2, 3, 4, 6, 8, 12];
  for (const [i, size] of sizes.entries()) {
    features.push({
      name: `cat${i}`,
      kind: "categorical",
      weights: Array.from({ length: size }, (_, k) => 1 / (k + 1)),
    });
  }
  return features;
}

/** The feature's standard deviation (what a "σ" shift means). */
export function featureStd(feature: FeatureSpec): number {
  switch (feature.kind) {
    case "normal":
      return feature.std;
    case "lognormal": {
      const s2 = feature.sigma ** 2;
      return feature.scale * Math.sqrt((Math.exp(s2) - 1) * Math.exp(s2));
    }
    case "exponential":
      return 1 / feature.rate;
    case "categorical":
      return 1;
  }
}

function featureMean(feature: FeatureSpec): number {
  switch (feature.kind) {
    case "normal":
      return feature.mean;
    case "lognormal":
      return feature.scale * Math.exp(feature.sigma ** 2 / 2);
    case "exponential":
      return 1 / feature.rate;
    case "categorical":
      return 0;
  }
}

/** A generator of rows: numeric features as numbers, categorical ones as category indices. */
export class Generator {
  private readonly random: () => number;
  constructor(
    readonly features: FeatureSpec[],
    seed: number,
  ) {
    this.random = seededRandom(seed);
  }

  /** n values of one feature, with an optional shift. */
  draw(feature: FeatureSpec, n: number, shift?: Shift): Float64Array {
    const out = new Float64Array(n);
    const r = this.random;
    const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    const mean = featureMean(feature);
    const std = featureStd(feature);
    let weights: number[] = [];
    if (feature.kind === "categorical") {
      weights = [...feature.weights];
      if (shift?.moveShare) {
        const moved = weights[0]! * shift.moveShare;
        weights[0]! -= moved;
        weights[weights.length - 1]! += moved;
      }
      const sum = weights.reduce((a, b) => a + b, 0);
      let cumulative = 0;
      weights = weights.map((w) => (cumulative += w / sum));
    }
    for (let i = 0; i < n; i++) {
      let x: number;
      switch (feature.kind) {
        case "normal":
          x = feature.mean + feature.std * normal();
          break;
        case "lognormal":
          x = feature.scale * Math.exp(feature.sigma * normal());
          break;
        case "exponential":
          x = -Math.log(1 - r()) / feature.rate;
          break;
        case "categorical": {
          const u = r();
          let k = 0;
          while (k < weights.length - 1 && u >= weights[k]!) k++;
          x = k;
          break;
        }
      }
      if (feature.kind !== "categorical" && shift) {
        if (shift.scale !== undefined) x = mean + (x - mean) * shift.scale;
        if (shift.meanSigmas !== undefined) x += shift.meanSigmas * std;
      }
      out[i] = x;
    }
    return out;
  }

  /** n rows: one column of values per feature. */
  rows(n: number, shifts: Shift[] = []): Float64Array[] {
    return this.features.map((f) =>
      this.draw(
        f,
        n,
        shifts.find((s) => s.feature === f.name),
      ),
    );
  }
}

/** The monitoring spec of a training sample: quantile bins from training/baseline.ts. */
export function specFromTraining(features: FeatureSpec[], training: Float64Array[]): MonitoringSpecLike {
  const columns: MonitoredColumn[] = features.map((feature, j) => {
    const values = training[j]!;
    if (feature.kind === "categorical") {
      const counts = feature.weights.map(() => 0);
      for (const v of values) counts[v]!++;
      return {
        name: feature.name,
        kind: "categorical",
        source: { feature: feature.name },
        vocabulary: feature.weights.map((_, k) => `c${k}`),
        reference: { counts, unseen: 0, missing: 0, count: values.length },
      };
    }
    const h = numericHistogram(values);
    return {
      name: feature.name,
      kind: "numeric",
      source: { feature: feature.name },
      edges: h.edges,
      reference: {
        counts: h.counts,
        means: h.means,
        missing: h.missing,
        below: h.below,
        above: h.above,
        count: h.count,
        mean: h.mean,
        std: h.std,
      },
    };
  });
  return { baselineId: baselineIdOf({ columns, outputs: [] }), columns, outputs: [] };
}

/** Summarises one window's rows on the spec's bins, as the device does. */
export function summarise(spec: MonitoringSpecLike, rows: Float64Array[]): DriftSummaryLike {
  const columns: Record<string, ColumnSummary> = {};
  spec.columns.forEach((column, j) => {
    columns[column.name] = summariseColumn(column, rows[j]!);
  });
  return { baselineId: spec.baselineId, rows: rows[0]?.length ?? 0, columns, outputs: {} };
}

/** One column's summary of values (NaN = missing; categorical values are codes). */
export function summariseColumn(column: MonitoredColumn, values: ArrayLike<number>): ColumnSummary {
  if (column.kind === "categorical") {
    const counts = column.vocabulary.map(() => 0);
    let unseen = 0;
    let missing = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (Number.isNaN(v)) missing++;
      else if (Number.isInteger(v) && v >= 0 && v < counts.length) counts[v]!++;
      else unseen++;
    }
    return { kind: "categorical", counts, unseen, missing };
  }
  const edges = column.edges;
  const bins = Math.max(edges.length - 1, 1);
  const counts = new Array<number>(bins).fill(0);
  const offsets = new Array<number>(bins).fill(0);
  let below = 0;
  let above = 0;
  let missing = 0;
  let belowSum = 0;
  let aboveSum = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (Number.isNaN(x)) {
      missing++;
      continue;
    }
    const b = histogramBin(edges, x);
    if (b < 0) {
      below++;
      belowSum += x;
    } else if (b >= bins) {
      above++;
      aboveSum += x;
    } else {
      counts[b]!++;
      const low = edges[b]!;
      const width = (edges[b + 1] ?? low) - low;
      if (width > 0) offsets[b]! += Math.round((OFFSET_STEPS * (x - low)) / width);
    }
  }
  return { kind: "numeric", counts, below, above, missing, offsets, belowSum, aboveSum };
}

/** Adds summaries of the same bins (the hub's aggregation over windows; drift-summary/summary.ts mergeSummaries without the times). */
export function addSummaries(summaries: DriftSummaryLike[]): DriftSummaryLike {
  const first = summaries[0]!;
  const columns: Record<string, ColumnSummary> = {};
  for (const name of Object.keys(first.columns)) {
    const parts = summaries.map((s) => s.columns[name]!);
    const a = parts[0]!;
    const sum = (pick: (c: ColumnSummary) => number) => parts.reduce((t, c) => t + pick(c), 0);
    const sumArray = (pick: (c: ColumnSummary) => number[]) =>
      pick(a).map((_, i) => parts.reduce((t, c) => t + pick(c)[i]!, 0));
    if (a.kind === "categorical") {
      columns[name] = {
        kind: "categorical",
        counts: sumArray((c) => c.counts),
        unseen: sum((c) => (c.kind === "categorical" ? c.unseen : 0)),
        missing: sum((c) => c.missing),
      };
    } else {
      const num = (c: ColumnSummary) => c as Extract<ColumnSummary, { kind: "numeric" }>;
      columns[name] = {
        kind: "numeric",
        counts: sumArray((c) => c.counts),
        offsets: sumArray((c) => num(c).offsets),
        below: sum((c) => num(c).below),
        above: sum((c) => num(c).above),
        missing: sum((c) => c.missing),
        belowSum: sum((c) => num(c).belowSum),
        aboveSum: sum((c) => num(c).aboveSum),
      };
    }
  }
  return {
    baselineId: first.baselineId,
    rows: summaries.reduce((t, s) => t + s.rows, 0),
    columns,
    outputs: {},
  };
}

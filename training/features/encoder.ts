/**
 * The preprocessing a trainer learns from the training split, and applies identically in
 * TypeScript and in the exported ONNX graph: numerics (and booleans as 0/1) have missing values
 * imputed with the training mean, then are standardised; categoricals are one-hot encoded over the
 * training vocabulary, with missing and unseen categories as all zeros.
 *
 * The design matrix is computed in float32 exactly as onnxruntime computes it (each operation
 * rounded to float32 with Math.fround), so tree thresholds split the same rows on both sides.
 */

import type { TypedColumn } from "../dataset/schema.js";
import { categoryCounts } from "../dataset/stats.js";

export interface NumericFeature {
  name: string;
  kind: "numeric" | "boolean";
  /** Training mean (float32): imputes missing values and centres. */
  mean: number;
  /** Training standard deviation (float32); 1 for a constant column. */
  std: number;
}

export interface CategoricalFeature {
  name: string;
  kind: "categorical";
  /** Known categories, most frequent first; a category's code is its index here. */
  vocabulary: string[];
}

export type FeatureSpec = NumericFeature | CategoricalFeature;

/** The learned preprocessing: raw features in `features` order → a design matrix of `width` columns. */
export interface FeatureEncoder {
  features: FeatureSpec[];
  /** Design columns: every numeric feature first (in order), then each categorical's one-hot block. */
  width: number;
}

export interface EncoderOptions {
  /** Most categories kept per column (the most frequent); the rest count as unseen. Default 50. */
  maxCategories?: number;
}

const f32 = Math.fround;

/** Learns means, deviations and vocabularies from the `rows` of each feature column. */
export function fitEncoder(
  columns: readonly TypedColumn[],
  rows: ArrayLike<number>,
  options: EncoderOptions = {},
): FeatureEncoder {
  const maxCategories = options.maxCategories ?? 50;
  const features = columns.map((column): FeatureSpec => {
    if (column.kind === "numeric" || column.kind === "boolean") {
      let n = 0;
      let sum = 0;
      for (let i = 0; i < rows.length; i++) {
        const v = column.values[rows[i]!]!;
        if (!Number.isNaN(v)) {
          n++;
          sum += v;
        }
      }
      const mean = n > 0 ? sum / n : 0;
      let squares = 0;
      for (let i = 0; i < rows.length; i++) {
        const v = column.values[rows[i]!]!;
        if (!Number.isNaN(v)) squares += (v - mean) ** 2;
      }
      const std = n > 0 ? Math.sqrt(squares / n) : 0;
      return { name: column.name, kind: column.kind, mean: f32(mean), std: std > 1e-12 ? f32(std) : 1 };
    }
    const picked = Array.from({ length: rows.length }, (_, i) => column.values[rows[i]!] as string | null);
    const vocabulary = categoryCounts(picked)
      .slice(0, maxCategories)
      .map((c) => c.value);
    return { name: column.name, kind: "categorical", vocabulary };
  });
  return { features, width: designWidth(features) };
}

function designWidth(features: readonly FeatureSpec[]): number {
  return features.reduce((w, f) => w + (f.kind === "categorical" ? f.vocabulary.length : 1), 0);
}

/** Numeric features first, then categoricals: the order of design columns. */
export function numericFeatures(encoder: FeatureEncoder): NumericFeature[] {
  return encoder.features.filter((f): f is NumericFeature => f.kind !== "categorical");
}

/** The categorical features, in order. */
export function categoricalFeatures(encoder: FeatureEncoder): CategoricalFeature[] {
  return encoder.features.filter((f): f is CategoricalFeature => f.kind === "categorical");
}

/** One standardised value as onnxruntime computes it: impute, subtract, divide, all in float32. */
export function scaleValue(feature: NumericFeature, value: number): number {
  const x = Number.isNaN(value) ? feature.mean : f32(value);
  return f32(f32(x - feature.mean) / feature.std);
}

/**
 * The design matrix (row-major float32, `rows.length × width`) for the given rows of the columns,
 * matched to the encoder's features by name.
 */
export function encodeRows(
  encoder: FeatureEncoder,
  columns: readonly TypedColumn[],
  rows: ArrayLike<number>,
): Float32Array {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const column = (name: string) => {
    const found = byName.get(name);
    if (found === undefined) throw new Error(`feature column "${name}" is missing`);
    return found;
  };
  const out = new Float32Array(rows.length * encoder.width);
  let offset = 0;
  for (const feature of numericFeatures(encoder)) {
    const values = column(feature.name).values as Float64Array;
    for (let i = 0; i < rows.length; i++)
      out[i * encoder.width + offset] = scaleValue(feature, values[rows[i]!]!);
    offset++;
  }
  for (const feature of categoricalFeatures(encoder)) {
    const values = column(feature.name).values as (string | null)[];
    const codes = new Map(feature.vocabulary.map((v, k) => [v, k]));
    for (let i = 0; i < rows.length; i++) {
      const value = values[rows[i]!];
      const code = value === null || value === undefined ? undefined : codes.get(value);
      if (code !== undefined) out[i * encoder.width + offset + code] = 1;
    }
    offset += feature.vocabulary.length;
  }
  return out;
}

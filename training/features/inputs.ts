/**
 * The exported model's input convention, and the graph that applies the learned preprocessing.
 *
 * `vector` (default): one FP32 input `features` of shape [batch, F], one column per feature in
 * `encoder.features` order. Numerics are raw values, booleans 0/1, a categorical is its code (the
 * index of the category in the feature's `vocabulary`); NaN means missing. Unknown codes (e.g. -1)
 * and NaN give an all-zero one-hot block. This is what the agent's tabular `score` route feeds
 * (numbers only; a manifest `default` stands in for a missing value, see `moduleFeatures`).
 *
 * `columns`: one input per feature, named after it, each [batch, 1]: FP32 for numerics and
 * booleans, BYTES (string) for categoricals, one-hot encoded in the graph by ai.onnx.ml
 * OneHotEncoder; an empty or unseen string is all zeros. Reachable through OIP `infer` (BYTES),
 * not yet through the friendly `score` route, which feeds a single FP32 tensor.
 */
import type { GraphBuilder } from "../../modules/onnx/builder.js";
import type { TypedColumn } from "../dataset/schema.js";
import { categoricalFeatures, type FeatureEncoder, numericFeatures } from "./encoder.js";

export type InputMode = "vector" | "columns";
/** The input name in `vector` mode. */
export const VECTOR_INPUT = "features";

/** An onnxruntime-ready feed (the caller wraps it in `new Tensor(type, data, dims)`). */
export type RawFeed =
  | { type: "float32"; data: Float32Array; dims: number[] }
  | { type: "string"; data: string[]; dims: number[] };

/** Adds the inputs and preprocessing nodes; returns the name of the [batch, width] design value. */
export function addPreprocessing(g: GraphBuilder, encoder: FeatureEncoder, mode: InputMode): string {
  const numerics = numericFeatures(encoder);
  const blocks: string[] = [];
  if (mode === "vector") g.input(VECTOR_INPUT, "FP32", ["batch", encoder.features.length]);
  const position = (name: string) => encoder.features.findIndex((f) => f.name === name);
  if (numerics.length > 0) {
    let raw: string;
    if (mode === "vector") {
      g.initializer("pre/numeric_index", BigInt64Array.from(numerics.map((f) => BigInt(position(f.name)))), [
        numerics.length,
      ]);
      g.node("Gather", [VECTOR_INPUT, "pre/numeric_index"], ["pre/numeric_raw"], { axis: 1 });
      raw = "pre/numeric_raw";
    } else {
      for (const f of numerics) g.input(f.name, "FP32", ["batch", 1]);
      g.node(
        "Concat",
        numerics.map((f) => f.name),
        ["pre/numeric_raw"],
        { axis: 1 },
      );
      raw = "pre/numeric_raw";
    }
    g.initializer("pre/mean", Float32Array.from(numerics.map((f) => f.mean)), [numerics.length]);
    g.initializer("pre/std", Float32Array.from(numerics.map((f) => f.std)), [numerics.length]);
    g.node("IsNaN", [raw], ["pre/missing"]);
    g.node("Where", ["pre/missing", "pre/mean", raw], ["pre/imputed"]);
    g.node("Sub", ["pre/imputed", "pre/mean"], ["pre/centred"]);
    g.node("Div", ["pre/centred", "pre/std"], ["pre/scaled"]);
    blocks.push("pre/scaled");
  }
  categoricalFeatures(encoder).forEach((f, j) => {
    const k = f.vocabulary.length;
    if (mode === "columns") g.input(f.name, "BYTES", ["batch", 1]);
    if (k === 0) return;
    if (mode === "vector") {
      g.initializer(`pre/cat${j}_index`, BigInt64Array.from([BigInt(position(f.name))]), [1]);
      g.node("Gather", [VECTOR_INPUT, `pre/cat${j}_index`], [`pre/cat${j}_code`], { axis: 1 });
      g.initializer(
        `pre/cat${j}_codes`,
        Float32Array.from(f.vocabulary, (_, i) => i),
        [1, k],
      );
      g.node("Equal", [`pre/cat${j}_code`, `pre/cat${j}_codes`], [`pre/cat${j}_hit`]);
      g.node("Cast", [`pre/cat${j}_hit`], [`pre/cat${j}_onehot`], { to: 1 });
    } else {
      g.node(
        "OneHotEncoder",
        [f.name],
        [`pre/cat${j}_3d`],
        { cats_strings: f.vocabulary, zeros: 1 },
        "ai.onnx.ml",
      );
      g.initializer(`pre/cat${j}_shape`, BigInt64Array.from([-1n, BigInt(k)]), [2]);
      g.node("Reshape", [`pre/cat${j}_3d`, `pre/cat${j}_shape`], [`pre/cat${j}_onehot`]);
    }
    blocks.push(`pre/cat${j}_onehot`);
  });
  g.node("Concat", blocks, ["pre/design"], { axis: 1 });
  return "pre/design";
}

/** Feeds in the given mode for rows of typed columns (missing → NaN or "", categories → codes). */
export function feedsFromColumns(
  encoder: FeatureEncoder,
  columns: readonly TypedColumn[],
  rows: ArrayLike<number>,
  mode: InputMode = "vector",
): Record<string, RawFeed> {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const n = rows.length;
  if (mode === "vector") {
    const width = encoder.features.length;
    const data = new Float32Array(n * width);
    encoder.features.forEach((f, j) => {
      const column = byName.get(f.name)!;
      const codes = f.kind === "categorical" ? new Map(f.vocabulary.map((v, k) => [v, k])) : undefined;
      for (let i = 0; i < n; i++) {
        const value = column.values[rows[i]!]!;
        data[i * width + j] =
          codes === undefined
            ? (value as number)
            : value === null
              ? Number.NaN
              : (codes.get(value as string) ?? -1);
      }
    });
    return { [VECTOR_INPUT]: { type: "float32", data, dims: [n, width] } };
  }
  const feeds: Record<string, RawFeed> = {};
  for (const f of encoder.features) {
    const values = byName.get(f.name)!.values;
    feeds[f.name] =
      f.kind === "categorical"
        ? {
            type: "string",
            data: Array.from({ length: n }, (_, i) => (values[rows[i]!] as string | null) ?? ""),
            dims: [n, 1],
          }
        : {
            type: "float32",
            data: Float32Array.from({ length: n }, (_, i) => values[rows[i]!] as number),
            dims: [n, 1],
          };
  }
  return feeds;
}

/**
 * One JSON row (feature name → number, boolean, category string or null) as a `vector` row:
 * what a client or the agent must send. Unknown categories become -1 (all zeros).
 */
export function vectorRow(encoder: FeatureEncoder, row: Readonly<Record<string, unknown>>): number[] {
  return encoder.features.map((f) => {
    const value = Object.hasOwn(row, f.name) ? row[f.name] : null;
    if (value === null || value === undefined) return Number.NaN;
    if (f.kind === "categorical") return f.vocabulary.indexOf(String(value));
    if (typeof value === "boolean") return value ? 1 : 0;
    if (typeof value !== "number") throw new Error(`feature "${f.name}" must be a number`);
    return value;
  });
}

/**
 * The manifest's tabular features for a `vector` model: no mean/std (the graph standardises), and
 * a `default` that reproduces the graph's imputation (the training mean; -1 for a categorical).
 */
export function moduleFeatures(
  encoder: FeatureEncoder,
): { name: string; default: number; categories?: string[] }[] {
  return encoder.features.map((f) =>
    f.kind === "categorical"
      ? { name: f.name, default: -1, categories: [...f.vocabulary] }
      : { name: f.name, default: f.mean },
  );
}

/**
 * Postprocessing: model outputs → one JSON-ready prediction per row, as the manifest says (raw,
 * softmax, argmax, top-k, threshold). Accepts onnxruntime Tensors (`dims`) or plain `{data, shape}`.
 */
import { boxesToSource, type ImageGeometry } from "./image-geometry.js";
import type { Postprocessing } from "./manifest.js";

/** An output tensor: onnxruntime's Tensor fits (it has `dims`), as does `{ data, shape }`. */
export interface OutputTensor {
  data: ArrayLike<number> | ArrayLike<bigint> | ArrayLike<string> | ArrayLike<boolean>;
  shape?: readonly number[];
  dims?: readonly number[];
}

/** A JSON value inside a raw prediction (BigInt already converted). */
export type JsonValue = number | string | boolean | JsonValue[];

export type RawPrediction = Record<string, JsonValue>;
export interface SoftmaxPrediction {
  probabilities: Record<string, number>;
  label: string;
  score: number;
}
export interface ArgmaxPrediction {
  label: string;
  index: number;
  score: number;
}
export interface TopkPrediction {
  top: { label: string; index: number; score: number }[];
}
export interface ThresholdPrediction {
  label: string;
  score: number;
}
export type Prediction =
  | RawPrediction
  | SoftmaxPrediction
  | ArgmaxPrediction
  | TopkPrediction
  | ThresholdPrediction;

/** The prediction type a given postprocessing spec produces (the union when the kind is not known). */
export type PredictionOf<S extends Postprocessing> = S extends { kind: "raw" }
  ? RawPrediction
  : S extends { kind: "softmax" }
    ? SoftmaxPrediction
    : S extends { kind: "argmax" }
      ? ArgmaxPrediction
      : S extends { kind: "topk" }
        ? TopkPrediction
        : ThresholdPrediction;

/** The outputs do not fit the module's postprocessing: a packaging fault, not the caller's. */
export class PostprocessError extends Error {
  override readonly name = "PostprocessError";
}

/** Numerically stable softmax: subtracting the maximum keeps exp() from overflowing. */
export function softmax(values: readonly number[]): number[] {
  const max = values.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY); // no spread: big class counts
  const exps = values.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** Logistic function, written so large negative inputs do not overflow exp(). */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** INT64 outputs arrive as BigInt, which JSON cannot encode: a number when exact, else a string. */
function jsonScalar(value: number | bigint | string | boolean): number | string | boolean {
  if (typeof value !== "bigint") return value;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
}

const shapeOf = (tensor: OutputTensor): readonly number[] =>
  tensor.shape ?? tensor.dims ?? [tensor.data.length];

function nest(values: (number | string | boolean)[], dims: readonly number[]): JsonValue {
  if (dims.length === 0) return values[0] ?? [];
  if (dims.length === 1) return values;
  const step = values.length / dims[0]!;
  return Array.from({ length: dims[0]! }, (_, i) =>
    nest(values.slice(i * step, (i + 1) * step), dims.slice(1)),
  );
}

/** Row `row` of a row-major tensor along `axis`: the values with that axis index fixed. */
function sliceAlong(
  values: readonly (number | string | boolean)[],
  shape: readonly number[],
  axis: number,
  row: number,
) {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const size = shape[axis]!;
  const out: (number | string | boolean)[] = [];
  for (let o = 0; o < outer; o++) {
    const start = (o * size + row) * inner;
    for (let i = 0; i < inner; i++) out.push(values[start + i]!);
  }
  return out;
}

type RawSpec = Extract<Postprocessing, { kind: "raw" }>;

function rawPredictions(
  outputs: Record<string, OutputTensor>,
  batchSize: number,
  spec: RawSpec,
  images: readonly ImageGeometry[] | undefined,
): RawPrediction[] {
  const { batchAxes, boxes } = spec;
  const perRow: RawPrediction[] = Array.from({ length: batchSize }, () => ({}));
  for (const [name, tensor] of Object.entries(outputs)) {
    const shape = shapeOf(tensor);
    const values = Array.from(tensor.data as ArrayLike<number | bigint | string | boolean>, jsonScalar);
    // The manifest's axis when it names one (null: no batch axis); else dimension 0.
    const declared = batchAxes?.[name];
    const axis = declared === undefined ? 0 : declared;
    // An output without the batch dimension (a scalar, a constant, a summary) is the same for every row.
    const batched = axis !== null && shape.length > axis && shape[axis] === batchSize;
    const rowShape = axis === null ? shape : [...shape.slice(0, axis), ...shape.slice(axis + 1)];
    const mapBoxes =
      boxes?.output === name && images !== undefined ? boxMapper(name, shape, boxes.format) : undefined;
    if (mapBoxes && !batched && batchSize > 1) {
      throw new PostprocessError(`box output "${name}" has no batch axis: its boxes belong to no one image`);
    }
    for (let r = 0; r < batchSize; r++) {
      const row = batched ? sliceAlong(values, shape, axis, r) : values;
      perRow[r]![name] = nest(mapBoxes ? mapBoxes(row, images![r]!) : row, batched ? rowShape : shape);
    }
  }
  return perRow;
}

/** Maps one row's boxes (last axis: 4+ values per box) from model-input pixels to its image's. */
function boxMapper(name: string, shape: readonly number[], format: NonNullable<RawSpec["boxes"]>["format"]) {
  const stride = shape.at(-1) ?? 0;
  if (shape.length < 2 || stride < 4) {
    throw new PostprocessError(
      `box output "${name}" has shape [${shape}]; expected 4 or more values per box`,
    );
  }
  return (row: (number | string | boolean)[], geometry: ImageGeometry) => {
    if (row.some((v) => typeof v !== "number"))
      throw new PostprocessError(`box output "${name}" is not numeric`);
    return boxesToSource(row.slice() as number[], stride, format, geometry);
  };
}

/** Splits a [batch, ...] numeric output into one flat score vector per row. */
function scoreRows(outputs: Record<string, OutputTensor>, name: string, batchSize: number): number[][] {
  const tensor = outputs[name];
  if (!tensor)
    throw new PostprocessError(`postprocessing needs output "${name}", which the model did not return`);
  const shape = shapeOf(tensor);
  if (shape[0] !== batchSize || tensor.data.length % batchSize !== 0 || tensor.data.length === 0) {
    throw new PostprocessError(`output "${name}" has shape [${shape}], expected [${batchSize}, classes]`);
  }
  const width = tensor.data.length / batchSize;
  const values = Array.from(tensor.data as ArrayLike<unknown>, (v) => {
    if (typeof v === "number") return v;
    if (typeof v === "bigint" || typeof v === "boolean") return Number(v);
    throw new PostprocessError(`output "${name}" is not numeric`);
  });
  return Array.from({ length: batchSize }, (_, r) => values.slice(r * width, (r + 1) * width));
}

function labeller(labels: readonly string[] | undefined, classes: number, output: string) {
  if (labels && labels.length !== classes) {
    throw new PostprocessError(
      `${labels.length} labels configured but output "${output}" has ${classes} classes`,
    );
  }
  return (index: number) => labels?.[index] ?? String(index);
}

function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/**
 * Turns model outputs into one prediction per row, as `spec` describes. `images` (one per row, for
 * image requests) maps a raw `boxes` output back to each original image's pixels; without it boxes
 * stay in model-input pixels.
 */
export function postprocess<S extends Postprocessing>(
  spec: S,
  outputs: Record<string, OutputTensor>,
  batchSize: number,
  images?: readonly ImageGeometry[],
): PredictionOf<S>[] {
  return predictions(spec, outputs, batchSize, images) as PredictionOf<S>[];
}

/** The coordinate space of a module's box output in an answer, or undefined when it declares none. */
export function boxSpace(
  spec: Postprocessing,
  images: readonly ImageGeometry[] | undefined,
): { output: string; format: string; space: "image" | "input" } | undefined {
  if (spec.kind !== "raw" || spec.boxes === undefined) return undefined;
  return { output: spec.boxes.output, format: spec.boxes.format, space: images ? "image" : "input" };
}

function predictions(
  spec: Postprocessing,
  outputs: Record<string, OutputTensor>,
  batchSize: number,
  images: readonly ImageGeometry[] | undefined,
): Prediction[] {
  if (spec.kind === "raw") return rawPredictions(outputs, batchSize, spec, images);
  const rows = scoreRows(outputs, spec.output, batchSize);
  const classes = rows[0]!.length;
  switch (spec.kind) {
    case "softmax": {
      const label = labeller(spec.labels, classes, spec.output);
      return rows.map((row) => {
        const p = spec.fromProbabilities ? row : softmax(row);
        const best = argmax(p);
        const probabilities: Record<string, number> = {};
        p.forEach((value, i) => {
          probabilities[label(i)] = value;
        });
        return { probabilities, label: label(best), score: p[best]! };
      });
    }
    case "argmax": {
      const label = labeller(spec.labels, classes, spec.output);
      return rows.map((row) => {
        const scores = spec.applySoftmax ? softmax(row) : row;
        const index = argmax(scores);
        return { label: label(index), index, score: scores[index]! };
      });
    }
    case "topk": {
      const label = labeller(spec.labels, classes, spec.output);
      return rows.map((row) => {
        const scores = spec.applySoftmax ? softmax(row) : row;
        const order = scores.map((score, index) => ({ label: label(index), index, score }));
        // Stable sort: ties keep class order, so answers do not flicker between equal classes.
        order.sort((a, b) => b.score - a.score);
        return { top: order.slice(0, spec.k) };
      });
    }
    case "threshold": {
      // One score per row, or [negative, positive] probabilities as binary classifiers often export.
      if (classes !== 1 && classes !== 2) {
        throw new PostprocessError(
          `threshold needs 1 or 2 values per row; output "${spec.output}" has ${classes}`,
        );
      }
      const [negative, positive] = spec.labels ?? ["0", "1"];
      return rows.map((row) => {
        const raw = row[classes - 1]!;
        const score = spec.applySigmoid ? sigmoid(raw) : raw;
        return { label: score >= spec.threshold ? positive : negative, score };
      });
    }
  }
}

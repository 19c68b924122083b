/**
 * Micro-batching arithmetic: requests are stacked along dimension 0 into one set of feeds, and the
 * outputs are cut back into per-request pieces by the same row counts, in the same order.
 */

import { Tensor } from "onnxruntime-node";
import type { TensorSpec } from "../../modules/manifest.js";

type Tensors = Record<string, Tensor>;
type TypedArray = Exclude<Tensor.DataType, string[]>;

/** Rows in a request: dimension 0 of its first input (1 for a scalar input). */
export function rowsOf(feeds: Tensors, inputs?: readonly TensorSpec[]): number {
  // The batch is dimension 0 of an input whose dimension 0 is dynamic: a state input such as
  // [layers, batch, 64] has a fixed dimension 0 that is not the batch, and a scalar has none.
  const batched = inputs?.find((spec) => spec.shape.length > 0 && spec.shape[0]! < 0 && feeds[spec.name]);
  const first = batched === undefined ? (inputs ? undefined : Object.values(feeds)[0]) : feeds[batched.name];
  return first === undefined || first.dims.length === 0 ? 1 : Number(first.dims[0]);
}

/**
 * What must agree for two requests to share a run: the same inputs with the same datatypes and
 * the same dimensions past the first, and the same requested outputs.
 */
export function batchKey(feeds: Tensors, outputNames: readonly string[]): string {
  const inputs = Object.keys(feeds)
    .sort()
    .map((name) => `${name}:${feeds[name]!.type}:${feeds[name]!.dims.slice(1).join("x")}`);
  return `${inputs.join(",")}|${outputNames.join(",")}`;
}

/** Stacks requests (same batch key) along dimension 0. */
export function concatFeeds(requests: readonly Tensors[]): Tensors {
  if (requests.length === 1) return requests[0]!;
  const out: Tensors = {};
  for (const name of Object.keys(requests[0]!)) {
    const parts = requests.map((feeds) => feeds[name]!);
    const first = parts[0]!;
    const rows = parts.reduce((sum, part) => sum + Number(part.dims[0]), 0);
    out[name] = new Tensor(first.type, concatData(parts.map((part) => part.data)) as never, [
      rows,
      ...first.dims.slice(1),
    ]);
  }
  return out;
}

function concatData(parts: readonly Tensor.DataType[]): Tensor.DataType {
  const first = parts[0]!;
  if (Array.isArray(first)) return (parts as string[][]).flat();
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const Ctor = (first as TypedArray).constructor as new (length: number) => TypedArray;
  const data = new Ctor(total);
  let offset = 0;
  for (const part of parts as TypedArray[]) {
    (data as unknown as { set(source: ArrayLike<unknown>, offset: number): void }).set(part, offset);
    offset += part.length;
  }
  return data;
}

/** A batch's outputs do not split by rows: the model's outputs are not batch-major. */
export class UnsplittableOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsplittableOutputError";
  }
}

/** Cuts batched outputs into one set per request, `rows[i]` rows each, in order. */
export function splitOutputs(outputs: Tensors, rows: readonly number[]): Tensors[] {
  if (rows.length === 1) return [outputs];
  const total = rows.reduce((sum, n) => sum + n, 0);
  const pieces: Tensors[] = rows.map(() => ({}));
  for (const [name, tensor] of Object.entries(outputs)) {
    if (tensor.dims.length === 0 || Number(tensor.dims[0]) !== total) {
      throw new UnsplittableOutputError(
        `output "${name}" has shape [${tensor.dims}], expected ${total} rows in dimension 0`,
      );
    }
    const rowSize = tensor.data.length / total;
    let start = 0;
    rows.forEach((count, i) => {
      const data = tensor.data.slice(start * rowSize, (start + count) * rowSize);
      pieces[i]![name] = new Tensor(tensor.type, data as never, [count, ...tensor.dims.slice(1)]);
      start += count;
    });
  }
  return pieces;
}

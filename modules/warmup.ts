/**
 * Warm-up tensors: what the agent feeds a module before it takes traffic, and what the hub's
 * packager probes with. Inputs named in the manifest's `runtime.warmupInputs` get that shape and
 * those values; the others get zeros with dimension 0 (the batch, when dynamic) `rows` and every
 * other dynamic dimension 1. Plain typed arrays, so the hub and the agent wrap them in their own
 * onnxruntime Tensors.
 */
import type { Manifest, TensorDatatype, TensorSpec, WarmupInput } from "./manifest.js";

export type WarmupData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | string[];

export interface WarmupTensor {
  datatype: TensorDatatype;
  shape: number[];
  data: WarmupData;
}

type Source = Pick<Manifest, "inputs"> & { runtime: Pick<Manifest["runtime"], "warmupInputs"> };

/**
 * The warm-up feeds of a module. `rows` sizes the batch dimension of the default (zero) inputs;
 * once any input has a given warm-up tensor, every default input uses that tensor's batch instead,
 * so the feeds agree on it.
 */
export function warmupTensors(manifest: Source, rows = 1): Record<string, WarmupTensor> {
  const given = manifest.runtime.warmupInputs ?? {};
  const givenBatch = Object.entries(given)
    .map(([name, w]) => (manifest.inputs.find((i) => i.name === name)?.shape[0] ?? 0) < 0 && w.shape[0])
    .find((dim) => typeof dim === "number");
  const batch = givenBatch ?? rows;
  const feeds: Record<string, WarmupTensor> = {};
  for (const spec of manifest.inputs) {
    const warmup = given[spec.name];
    feeds[spec.name] = warmup ? fromWarmup(spec, warmup) : zeros(spec, batch);
  }
  return feeds;
}

/** A short description of the feeds, for a failed warm-up's message: `x FP32 [1,1] zeros, sr INT64 [] = 16000`. */
export function describeWarmup(feeds: Record<string, WarmupTensor>): string {
  return Object.entries(feeds)
    .map(([name, t]) => {
      const values = Array.from(t.data as ArrayLike<unknown>);
      const zero = values.every((v) => v === 0 || v === 0n || v === "");
      const summary = zero ? "zeros" : values.length === 1 ? `= ${String(values[0])}` : "given values";
      return `${name} ${t.datatype} [${t.shape}] ${summary}`;
    })
    .join(", ");
}

function zeros(spec: TensorSpec, rows: number): WarmupTensor {
  const shape = spec.shape.map((dim, i) => (dim < 0 ? (i === 0 ? rows : 1) : dim));
  return { datatype: spec.datatype, shape, data: zeroData(spec.datatype, count(shape)) };
}

function fromWarmup(spec: TensorSpec, warmup: WarmupInput): WarmupTensor {
  const n = count(warmup.shape);
  const data = zeroData(spec.datatype, n);
  const values = warmup.data ?? [];
  if (values.length > 0) {
    for (let i = 0; i < n; i++) {
      const v = values.length === 1 ? values[0]! : values[i]!;
      if (Array.isArray(data)) data[i] = String(v);
      else if (data instanceof BigInt64Array || data instanceof BigUint64Array)
        data[i] = BigInt(Math.trunc(Number(v)));
      else data[i] = Number(v);
    }
  }
  return { datatype: spec.datatype, shape: [...warmup.shape], data };
}

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A zero-filled data buffer of `size` elements for a datatype (warm-up inputs, tensor decoding). */
export function zeroData(datatype: TensorDatatype, size: number): WarmupData {
  switch (datatype) {
    case "BOOL":
    case "UINT8":
      return new Uint8Array(size);
    case "UINT16":
    case "FP16":
      return new Uint16Array(size);
    case "UINT32":
      return new Uint32Array(size);
    case "UINT64":
      return new BigUint64Array(size);
    case "INT8":
      return new Int8Array(size);
    case "INT16":
      return new Int16Array(size);
    case "INT32":
      return new Int32Array(size);
    case "INT64":
      return new BigInt64Array(size);
    case "FP32":
      return new Float32Array(size);
    case "FP64":
      return new Float64Array(size);
    case "BYTES":
      return new Array<string>(size).fill("");
  }
}

/** The manifest field that fixes a failed warm-up, for error messages on both sides. */
export const WARMUP_FIX =
  'give runnable inputs in the manifest\'s runtime.warmupInputs (e.g. {"x": {"shape": [1, 512]}} or ' +
  '{"sr": {"shape": [], "data": [16000]}}), or set runtime.warmupRuns to 0';

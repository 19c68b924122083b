/**
 * Messages between the main thread and an inference worker, and tensors in a form that crosses
 * the thread boundary: `{type, dims, data}` with the typed array's buffer in the transfer list, so
 * inputs and outputs move between threads without a copy. Imported by both sides; keep it free of
 * anything but onnxruntime-node types.
 */
import type { InferenceSession, Tensor } from "onnxruntime-node";

/** A tensor as posted between threads. */
export interface WireTensor {
  type: Tensor.Type;
  dims: readonly number[];
  data: Tensor.DataType;
}

export type WireTensors = Record<string, WireTensor>;

export type WorkerRequest =
  | { op: "load"; id: number; session: number; path: string; options: InferenceSession.SessionOptions }
  | { op: "run"; id: number; session: number; feeds: WireTensors; outputNames: string[] }
  | { op: "release"; id: number; session: number }
  /** Throws an uncaught error inside the worker: how tests exercise crash recovery for real. */
  | { op: "crash"; id: number };

export interface LoadResult {
  inputMetadata: InferenceSession.ValueMetadata[];
  outputMetadata: InferenceSession.ValueMetadata[];
}

export interface RunResult {
  outputs: WireTensors;
  /** Time inside session.run on the worker, without the thread hop. */
  runMs: number;
}

export type WorkerResponse =
  | { id: number; ok: true; result: LoadResult | RunResult | null }
  | { id: number; ok: false; error: { name: string; message: string } };

/** Data of a minimal tensor-like value. */
interface TensorLike {
  type: Tensor.Type;
  dims: readonly number[];
  data: Tensor.DataType;
}

/**
 * Wire forms of tensors plus the buffers to transfer. A typed array that is a view on part of a
 * larger buffer (Node's Buffer pool, a batch slice) is copied first: transferring the whole buffer
 * would detach memory other values still use. String tensors are structured-cloned.
 */
export function toWire(tensors: Record<string, TensorLike>): { wire: WireTensors; transfer: ArrayBuffer[] } {
  const wire: WireTensors = {};
  const transfer: ArrayBuffer[] = [];
  const seen = new Set<ArrayBufferLike>();
  for (const [name, tensor] of Object.entries(tensors)) {
    let data = tensor.data;
    if (ArrayBuffer.isView(data)) {
      const view = data as Exclude<Tensor.DataType, string[]>;
      const whole =
        view.buffer instanceof ArrayBuffer &&
        view.byteOffset === 0 &&
        view.byteLength === view.buffer.byteLength &&
        !seen.has(view.buffer);
      data = whole ? view : (view.slice() as Tensor.DataType);
      const buffer = (data as Exclude<Tensor.DataType, string[]>).buffer as ArrayBuffer;
      seen.add(buffer);
      transfer.push(buffer);
    }
    wire[name] = { type: tensor.type, dims: [...tensor.dims], data };
  }
  return { wire, transfer };
}

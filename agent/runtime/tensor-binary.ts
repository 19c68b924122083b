/**
 * Raw tensor bytes ⇄ onnxruntime tensors, for the binary tensor data extension of the Open
 * Inference Protocol (Triton's binary tensor data extension, extension_binary_data.md): little-endian,
 * row-major, no stride or padding; BOOL one byte (0 or 1); BYTES elements each a 4-byte
 * little-endian length followed by the bytes. Node only runs on little-endian hosts here, so typed
 * arrays are the wire layout as they are.
 */
import { endianness } from "node:os";
import { Tensor } from "onnxruntime-node";
import type { TensorDatatype } from "../../modules/manifest.js";
import { DATATYPES, datatypeFromOrt } from "./datatypes.js";
import { elementCount, TensorInputError } from "./tensor-json.js";

if (endianness() !== "LE") throw new Error("the binary tensor extension assumes a little-endian host");

/** Bytes per element; BYTES is variable (undefined). */
export const ELEMENT_BYTES: Record<TensorDatatype, number | undefined> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
  BYTES: undefined,
};

const ARRAYS = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  INT8: Int8Array,
  UINT16: Uint16Array,
  INT16: Int16Array,
  FP16: Uint16Array,
  UINT32: Uint32Array,
  INT32: Int32Array,
  FP32: Float32Array,
  UINT64: BigUint64Array,
  INT64: BigInt64Array,
  FP64: Float64Array,
} as const;

/** Builds a tensor from its raw bytes; the byte count must match the shape exactly. */
export function tensorFromBinary(
  name: string,
  datatype: TensorDatatype,
  shape: number[],
  bytes: Uint8Array,
): Tensor {
  const count = elementCount(shape);
  if (datatype === "BYTES") {
    return new Tensor("string", decodeBytesElements(name, bytes, count), shape);
  }
  const size = ELEMENT_BYTES[datatype]!;
  if (bytes.length !== count * size) {
    throw new TensorInputError(
      `input "${name}": ${bytes.length} bytes of binary data, but shape [${shape}] of ${datatype} needs ${count * size}`,
    );
  }
  // Copy into a fresh, aligned buffer: the slice of the request body may start at any offset.
  const aligned = new Uint8Array(bytes.length);
  aligned.set(bytes);
  const data = new ARRAYS[datatype](aligned.buffer, 0, count);
  if (datatype === "BOOL") {
    const bad = (data as Uint8Array).findIndex((value) => value > 1);
    if (bad >= 0)
      throw new TensorInputError(`input "${name}": BOOL element ${bad} is ${data[bad]}, not 0 or 1`);
  }
  return new Tensor(DATATYPES[datatype].ort, data as never, shape);
}

/** A tensor's raw bytes as the extension sends them. */
export function tensorToBinary(name: string, tensor: Tensor): Uint8Array {
  const datatype = datatypeFromOrt(tensor.type);
  if (datatype === undefined)
    throw new Error(`output "${name}" has type ${tensor.type}, which OIP cannot carry`);
  if (datatype === "BYTES") return encodeBytesElements(tensor.data as string[]);
  const data = tensor.data as Exclude<Tensor.DataType, string[]>;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Splits length-prefixed BYTES elements; exactly `count` of them must fill `bytes`. */
function decodeBytesElements(name: string, bytes: Uint8Array, count: number): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder();
  const out: string[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) {
      throw new TensorInputError(
        `input "${name}": BYTES element ${out.length} has a truncated length prefix`,
      );
    }
    const length = view.getUint32(offset, true);
    offset += 4;
    if (offset + length > bytes.length) {
      throw new TensorInputError(`input "${name}": BYTES element ${out.length} runs past the binary data`);
    }
    out.push(decoder.decode(bytes.subarray(offset, offset + length)));
    offset += length;
  }
  if (out.length !== count) {
    throw new TensorInputError(
      `input "${name}": binary data holds ${out.length} BYTES elements but the shape needs ${count}`,
    );
  }
  return out;
}

function encodeBytesElements(values: readonly string[]): Uint8Array {
  const encoder = new TextEncoder();
  const encoded = values.map((value) => encoder.encode(value));
  const out = new Uint8Array(encoded.reduce((sum, bytes) => sum + 4 + bytes.length, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const bytes of encoded) {
    view.setUint32(offset, bytes.length, true);
    out.set(bytes, offset + 4);
    offset += 4 + bytes.length;
  }
  return out;
}

/**
 * One table between the three names a tensor element type has: the Open Inference Protocol
 * datatype (what manifests and HTTP clients use), onnxruntime-node's `Tensor.Type`, and the JS
 * typed array that carries the data (Open Inference Protocol v2, "Tensor Data Types").
 */
import type { Tensor } from "onnxruntime-node";
import type { TensorDatatype } from "../../modules/manifest.js";

export type OrtType = Tensor.Type;

interface DatatypeInfo {
  ort: OrtType;
  /** Kind of JSON element accepted for this datatype. */
  kind: "float" | "int" | "bigint" | "bool" | "string" | "float16";
  /** Inclusive integer range for "int" and "bigint" kinds. */
  min?: number;
  max?: number;
}

export const DATATYPES: Record<TensorDatatype, DatatypeInfo> = {
  BOOL: { ort: "bool", kind: "bool" },
  UINT8: { ort: "uint8", kind: "int", min: 0, max: 255 },
  UINT16: { ort: "uint16", kind: "int", min: 0, max: 65_535 },
  UINT32: { ort: "uint32", kind: "int", min: 0, max: 4_294_967_295 },
  UINT64: { ort: "uint64", kind: "bigint", min: 0, max: Number.MAX_SAFE_INTEGER },
  INT8: { ort: "int8", kind: "int", min: -128, max: 127 },
  INT16: { ort: "int16", kind: "int", min: -32_768, max: 32_767 },
  INT32: { ort: "int32", kind: "int", min: -2_147_483_648, max: 2_147_483_647 },
  // JSON numbers are doubles: integers past 2^53 cannot arrive intact, so refuse them.
  INT64: { ort: "int64", kind: "bigint", min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER },
  FP16: { ort: "float16", kind: "float16" },
  FP32: { ort: "float32", kind: "float" },
  FP64: { ort: "float64", kind: "float" },
  BYTES: { ort: "string", kind: "string" },
};

const FROM_ORT = new Map<string, TensorDatatype>(
  Object.entries(DATATYPES).map(([datatype, info]) => [info.ort, datatype as TensorDatatype]),
);

/** The OIP datatype of an onnxruntime tensor type; undefined for types OIP cannot carry (int4, …). */
export function datatypeFromOrt(type: string): TensorDatatype | undefined {
  return FROM_ORT.get(type);
}

/** The onnxruntime tensor type of an OIP datatype. */
export function ortTypeOf(datatype: TensorDatatype): OrtType {
  return DATATYPES[datatype].ort;
}

export { zeroData } from "../../modules/warmup.js";

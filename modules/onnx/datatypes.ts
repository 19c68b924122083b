/**
 * ONNX tensor element types ↔ Open Inference Protocol datatypes (protocols.md §1.7).
 * BFLOAT16, complex, float8 and 4-bit types have no OIP or onnxruntime-node equivalent: unsupported.
 */
import type { TensorDatatype } from "../manifest.js";

/** ONNX `TensorProto.DataType` numbers for the types we support. */
export const ONNX_ELEMENT_TYPES = {
  FP32: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  BYTES: 8,
  BOOL: 9,
  FP16: 10,
  FP64: 11,
  UINT32: 12,
  UINT64: 13,
} as const satisfies Record<TensorDatatype, number>;

const byElementType = new Map<number, TensorDatatype>(
  Object.entries(ONNX_ELEMENT_TYPES).map(([datatype, code]) => [code, datatype as TensorDatatype]),
);

/** The OIP datatype of an ONNX element type, or undefined when we cannot serve it. */
export function datatypeOfElementType(elemType: number): TensorDatatype | undefined {
  return byElementType.get(elemType);
}

/** The ONNX element type number of an OIP datatype. */
export function elementTypeOfDatatype(datatype: TensorDatatype): number {
  return ONNX_ELEMENT_TYPES[datatype];
}

/** Human name of an ONNX element type number, for error messages. */
export function onnxElementTypeName(elemType: number): string {
  const names: Record<number, string> = {
    0: "UNDEFINED",
    14: "COMPLEX64",
    15: "COMPLEX128",
    16: "BFLOAT16",
    17: "FLOAT8E4M3FN",
    18: "FLOAT8E4M3FNUZ",
    19: "FLOAT8E5M2",
    20: "FLOAT8E5M2FNUZ",
    21: "UINT4",
    22: "INT4",
    23: "FLOAT4E2M1",
  };
  return names[elemType] ?? byElementType.get(elemType) ?? `element type ${elemType}`;
}

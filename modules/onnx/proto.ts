/**
 * The ONNX protobuf types, loaded once. `onnx-proto` is CommonJS whose exports Node's ESM loader
 * cannot see by name, so the namespace is taken from the default export here and nowhere else.
 * For types, import the namespace type-only: `import type { onnx as OnnxProto } from "onnx-proto"`.
 */
import type { onnx as OnnxProto } from "onnx-proto";
import onnxProto from "onnx-proto";

export const onnx: typeof OnnxProto = (onnxProto as unknown as { onnx: typeof OnnxProto }).onnx;

/** A protobufjs int64 field: a number, or a Long object when the `long` package is installed. */
export type Int64Like = number | { toNumber(): number } | null | undefined;

/** Converts a protobufjs int64 field to a JS number (0 when absent). */
export function int64ToNumber(value: Int64Like): number {
  if (value === null || value === undefined) return 0;
  return typeof value === "number" ? value : value.toNumber();
}

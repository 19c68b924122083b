/** int8 quantization of ONNX models, written as a graph rewrite in TypeScript. */

export * from "./calibrate.js";
export * from "./dynamic.js";
export * from "./errors.js";
export { QUANTIZABLE_OPS, type QuantizableOp, type QuantizedNode, type SkippedNode } from "./graph.js";
export { QUANTIZED_OPSET } from "./opset.js";
export * from "./static.js";
export * from "./weights.js";

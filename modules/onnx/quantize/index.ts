/** int8 quantization of ONNX models, written as a graph rewrite in TypeScript. */
export * from "./dynamic.js";
export * from "./errors.js";
export { QUANTIZED_OPSET } from "./opset.js";
export * from "./weights.js";

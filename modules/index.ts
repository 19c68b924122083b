/** The module format's public API, for the hub, the agent and the CLI. */
export * from "./errors.js";
export * from "./manifest.js";
export { checkManifestAgainstModel } from "./model-checks.js";
export * from "./onnx/builder.js";
export * from "./onnx/datatypes.js";
export * from "./onnx/inspect.js";
export * from "./onnx/models.js";
export * from "./onnx/random.js";
export * from "./pack.js";
export * from "./postprocess.js";
export * from "./preprocess.js";
export * from "./sign.js";
export * from "./warmup.js";

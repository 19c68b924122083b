/** The fields of a small valid manifest (one FP32 input `features`, one output `logits`), for tests. */
export const minimalManifestFields = {
  schemaVersion: 1,
  name: "m",
  version: "1.0.0",
  model: { file: "model.onnx", sha256: "a".repeat(64), size: 1 },
  inputs: [{ name: "features", datatype: "FP32", shape: [-1, 1] }],
  outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 2] }],
  createdAt: new Date(0).toISOString(),
};

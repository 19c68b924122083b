import { describe, expect, it } from "vitest";
import { monitoringSpec as spec } from "../drift-summary/monitoring-fixture.js";
import { parseManifest } from "./manifest.js";

const manifestFields = {
  schemaVersion: 1,
  name: "m",
  version: "1.0.0",
  model: { file: "model.onnx", sha256: "a".repeat(64), size: 1 },
  inputs: [{ name: "features", datatype: "FP32", shape: [-1, 1] }],
  outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 2] }],
  createdAt: new Date(0).toISOString(),
};

describe("manifest monitoring section", () => {
  it("is part of the manifest, cross-checked against the model's tensors", () => {
    expect(parseManifest({ ...manifestFields, monitoring: spec() }).monitoring?.minRows).toBe(20);
    const x = spec().columns[0]!;
    const wrong = spec({ columns: [{ ...x, source: { input: "nope" } }] });
    expect(() => parseManifest({ ...manifestFields, monitoring: wrong })).toThrow(
      /nope.{0,8} is not a model input/,
    );
    // Manifests without it (every module before) still parse.
    expect(parseManifest(manifestFields).monitoring).toBeUndefined();
  });
});

import { describe, expect, it } from "vitest";
import { monitoringSpec as spec } from "../drift-summary/monitoring-fixture.js";
import { parseManifest } from "./manifest.js";
import { minimalManifestFields as manifestFields } from "./manifest-fixture.js";

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

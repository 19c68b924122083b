import { describe, expect, it } from "vitest";
import { geometryOf, planKeepAspect } from "./image-geometry.js";
import { KeepAspectResizeSchema } from "./image-manifest.js";
import { PostprocessingSchema, parseManifest } from "./manifest.js";
import { minimalManifestFields } from "./manifest-fixture.js";
import { boxSpace, PostprocessError, postprocess } from "./postprocess.js";

const resize = KeepAspectResizeSchema.parse({ mode: "keep-aspect", maxSide: 640 });
// Landscape 1280×960 → 640×480 (×0.5); portrait 300×800 → 240×640 (×0.8), padded 8 px left.
const landscape = geometryOf(
  { width: 1280, height: 960 },
  planKeepAspect(resize, "center", { width: 1280, height: 960 }),
);
const portrait = geometryOf(
  { width: 300, height: 800 },
  planKeepAspect(resize, "center", { width: 300, height: 800 }),
);
const spec = PostprocessingSchema.parse({ kind: "raw", boxes: { output: "boxes" } });

describe("raw postprocessing with a box output", () => {
  // [batch 2, 1 box, x1 y1 x2 y2 score]
  const outputs = {
    boxes: { data: Float32Array.of(0, 0, 640, 480, 0.5, 8, 0, 248, 640, 0.25), shape: [2, 1, 5] },
    scores: { data: Float32Array.of(0.5, 0.25), shape: [2, 1] },
  };

  it("maps each row's boxes to its own image's pixels, other values and outputs untouched", () => {
    const rows = postprocess(spec, outputs, 2, [landscape, portrait]);
    expect(rows[0]).toEqual({ boxes: [[0, 0, 1280, 960, 0.5]], scores: [0.5] });
    expect(rows[1]).toEqual({ boxes: [[0, 0, 300, 800, 0.25]], scores: [0.25] });
    expect(boxSpace(spec, [landscape, portrait])).toEqual({
      output: "boxes",
      format: "xyxy",
      space: "image",
    });
  });

  it("leaves boxes in model-input pixels without images, and says so", () => {
    const rows = postprocess(spec, outputs, 2);
    expect(rows[1]).toEqual({ boxes: [[8, 0, 248, 640, 0.25]], scores: [0.25] });
    expect(boxSpace(spec, undefined)?.space).toBe("input");
    expect(boxSpace(PostprocessingSchema.parse({ kind: "raw" }), [landscape])).toBeUndefined();
  });

  it("refuses a box output that cannot hold boxes or has no batch axis at batch 2", () => {
    expect(() =>
      postprocess(spec, { boxes: { data: Float32Array.of(1, 2, 3, 4, 5, 6), shape: [2, 3] } }, 2, [
        landscape,
        portrait,
      ]),
    ).toThrow(PostprocessError);
    expect(() =>
      postprocess(spec, { boxes: { data: Float32Array.of(1, 2, 3, 4), shape: [1, 4] } }, 2, [
        landscape,
        portrait,
      ]),
    ).toThrow(/no batch axis/);
  });
});

describe("postprocessing.boxes in the manifest", () => {
  const manifest = (boxes: unknown, shape = [-1, -1, 4]) => ({
    ...minimalManifestFields,
    outputs: [{ name: "boxes", datatype: "FP32", shape }],
    postprocessing: { kind: "raw", boxes },
  });

  it("takes an output with 4 or more values per box, xyxy by default", () => {
    expect(parseManifest(manifest({ output: "boxes" })).postprocessing).toEqual({
      kind: "raw",
      boxes: { output: "boxes", format: "xyxy" },
    });
    expect(() => parseManifest(manifest({ output: "boxes", format: "cxcywh" }, [-1, 6]))).not.toThrow();
  });

  it.each([
    ["an unknown output", { output: "nope" }, undefined, /boxes.output .*nope.* is not a model output/],
    ["3 values per box", { output: "boxes" }, [-1, 10, 3], /last axis of 4 or more values per box/],
    ["a rank-1 output", { output: "boxes" }, [-1], /last axis of 4 or more/],
    ["an unknown format", { output: "boxes", format: "yxyx" }, undefined, /format/],
  ])("refuses %s", (_, boxes, shape, message) => {
    expect(() => parseManifest(manifest(boxes, shape))).toThrow(message);
  });
});

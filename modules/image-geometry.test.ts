import { describe, expect, it } from "vitest";
import { boxesToSource, geometryOf, planKeepAspect, planResize } from "./image-geometry.js";
import { KeepAspectResizeSchema } from "./image-manifest.js";
import { ImagePreprocessingSchema } from "./manifest.js";

const keep = (fields: Record<string, unknown>) =>
  KeepAspectResizeSchema.parse({ mode: "keep-aspect", maxSide: 640, ...fields });

describe("keep-aspect plans", () => {
  it("bounds the longest side and pads each side up to the multiple, landscape and portrait", () => {
    // 1000×750 → 640×480, both multiples of 32 already.
    expect(planKeepAspect(keep({}), "top-left", { width: 1000, height: 750 })).toEqual({
      resized: { width: 640, height: 480 },
      input: { width: 640, height: 480 },
      left: 0,
      top: 0,
    });
    // 300×800 → 240×640; 240 pads to 256, centred: 8 left, 8 right.
    expect(planKeepAspect(keep({}), "center", { width: 300, height: 800 })).toEqual({
      resized: { width: 240, height: 640 },
      input: { width: 256, height: 640 },
      left: 8,
      top: 0,
    });
  });

  it("keeps small images their size unless upscale, and never goes below one multiple", () => {
    expect(planKeepAspect(keep({}), "top-left", { width: 100, height: 50 }).input).toEqual({
      width: 128,
      height: 64,
    });
    expect(planKeepAspect(keep({ upscale: true }), "top-left", { width: 100, height: 50 })).toMatchObject({
      resized: { width: 640, height: 320 },
      input: { width: 640, height: 320 },
    });
    expect(planKeepAspect(keep({}), "top-left", { width: 1, height: 1 }).input).toEqual({
      width: 32,
      height: 32,
    });
  });

  it("rounds each side to the nearest multiple with toMultiple round: no padding", () => {
    // 300×800 → 240×640 → 240/32 = 7.5 rounds to 8: 256 wide; the aspect shifts slightly.
    expect(planKeepAspect(keep({ toMultiple: "round" }), "center", { width: 300, height: 800 })).toEqual({
      resized: { width: 256, height: 640 },
      input: { width: 256, height: 640 },
      left: 0,
      top: 0,
    });
    // 10×700: 9×640 rounds down to 0 multiples, kept at one.
    expect(planKeepAspect(keep({ toMultiple: "round" }), "center", { width: 10, height: 700 }).input).toEqual(
      {
        width: 32,
        height: 640,
      },
    );
  });
});

describe("fixed-size plans", () => {
  const fixed = (resize: string, position = "center") =>
    ImagePreprocessingSchema.parse({ kind: "image", input: "x", width: 640, height: 640, resize, position });

  it("fill stretches, contain letterboxes, cover crops the centre", () => {
    const source = { width: 1280, height: 720 };
    expect(planResize(fixed("fill"), source)).toEqual({
      resized: { width: 640, height: 640 },
      input: { width: 640, height: 640 },
      left: 0,
      top: 0,
    });
    expect(planResize(fixed("contain"), source)).toMatchObject({
      resized: { width: 640, height: 360 },
      top: 140,
    });
    expect(planResize(fixed("contain", "top-left"), source)).toMatchObject({ top: 0, left: 0 });
    expect(planResize(fixed("cover"), source)).toMatchObject({
      resized: { width: 1138, height: 640 },
      left: -249,
      top: 0,
    });
  });
});

describe("mapping boxes back to the source image", () => {
  const source = { width: 300, height: 800 };
  const plan = planKeepAspect(keep({}), "center", source); // ×0.8, 8 px padding on the left
  const geometry = geometryOf(source, plan);

  it("un-pads and un-scales xyxy corners; extra values per box stay", () => {
    const values = [8, 0, 248, 640, 0.9, 28, 80, 48, 160, 0.5];
    expect(boxesToSource(values, 5, "xyxy", geometry)).toEqual([0, 0, 300, 800, 0.9, 25, 100, 50, 200, 0.5]);
  });

  it("scales sizes without the offset for xywh and cxcywh", () => {
    expect(boxesToSource([28, 80, 20, 80], 4, "xywh", geometry)).toEqual([25, 100, 25, 100]);
    expect(boxesToSource([128, 320, 240, 640], 4, "cxcywh", geometry)).toEqual([150, 400, 300, 800]);
  });

  it("maps per axis when the aspect changed (round, fill) and through a crop (cover)", () => {
    const rounded = geometryOf(source, planKeepAspect(keep({ toMultiple: "round" }), "center", source));
    // 300 → 256 wide (×0.8533…), 800 → 640 high (×0.8).
    expect(boxesToSource([256, 640, 128, 320], 4, "xyxy", rounded)).toEqual([300, 800, 150, 400]);
    const wide = { width: 1280, height: 720 };
    const cover = ImagePreprocessingSchema.parse({
      kind: "image",
      input: "x",
      width: 640,
      height: 640,
      resize: "cover",
    });
    const covered = geometryOf(wide, planResize(cover, wide));
    // The input's left edge is 249 resized pixels into the image.
    const [x0] = boxesToSource([0, 0, 640, 640], 4, "xyxy", covered);
    expect(x0).toBeCloseTo(249 / (1138 / 1280), 9);
  });
});

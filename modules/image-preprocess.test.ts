import sharp from "sharp";
import { describe, expect, it } from "vitest";
import {
  ImageInputError,
  imagesToTensor,
  imageToTensor,
  sniffImageFormat,
  stackImageTensors,
} from "./image-preprocess.js";
import { type ImagePreprocessing, ImagePreprocessingSchema, parseManifest } from "./manifest.js";

/** A lossless PNG from interleaved RGB pixels. */
function png(width: number, height: number, rgb: number[]): Promise<Buffer> {
  return sharp(Buffer.from(rgb), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

const spec = (fields: Partial<ImagePreprocessing> & { width: number; height: number }) =>
  ImagePreprocessingSchema.parse({ kind: "image", input: "x", kernel: "nearest", ...fields });

// 2×1 image: a red pixel then a blue one.
const RED_BLUE = [255, 0, 0, 0, 0, 255];

describe("imageToTensor (happy path)", () => {
  it("lays out RGB pixels as NCHW planes, scaled and standardised per channel", async () => {
    const tensor = await imageToTensor(
      spec({ width: 2, height: 1, scale: 1 / 255, mean: [0.5, 0, 0], std: [0.5, 1, 2] }),
      await png(2, 1, RED_BLUE),
    );
    expect(tensor.shape).toEqual([1, 3, 1, 2]);
    expect(tensor.datatype).toBe("FP32");
    // R plane: (1-0.5)/0.5, (0-0.5)/0.5; G plane: 0, 0; B plane: 0, 1/2.
    expect(Array.from(tensor.data)).toEqual([1, -1, 0, 0, 0, 0.5]);
  });

  it("swaps channels for BGR and interleaves them for NHWC", async () => {
    const tensor = await imageToTensor(
      spec({ width: 2, height: 1, channels: "BGR", layout: "NHWC" }),
      await png(2, 1, RED_BLUE),
    );
    expect(tensor.shape).toEqual([1, 1, 2, 3]);
    expect(Array.from(tensor.data)).toEqual([0, 0, 255, 255, 0, 0]);
  });

  it("feeds raw UINT8 pixels, in both layouts", async () => {
    const bytes = await png(2, 1, RED_BLUE);
    const nhwc = await imageToTensor(spec({ width: 2, height: 1, datatype: "UINT8", layout: "NHWC" }), bytes);
    expect(nhwc.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(nhwc.data)).toEqual(RED_BLUE);
    const nchw = await imageToTensor(spec({ width: 2, height: 1, datatype: "UINT8" }), bytes);
    expect(Array.from(nchw.data)).toEqual([255, 0, 0, 0, 0, 255]);
  });

  it("gives one channel for GRAY", async () => {
    const tensor = await imageToTensor(
      spec({ width: 2, height: 1, channels: "GRAY" }),
      await png(2, 1, [255, 255, 255, 0, 0, 0]),
    );
    expect(tensor.shape).toEqual([1, 1, 1, 2]);
    expect(Array.from(tensor.data)).toEqual([255, 0]);
  });

  it("letterboxes with contain: top-left or centred, padded with the background", async () => {
    const bytes = await png(2, 1, RED_BLUE);
    const gray = (fields: Partial<ImagePreprocessing>) =>
      imageToTensor(
        spec({ width: 2, height: 2, resize: "contain", background: [7], channels: "GRAY", ...fields }),
        bytes,
      );
    const topLeft = await gray({ position: "top-left" });
    expect(topLeft.shape).toEqual([1, 1, 2, 2]);
    expect(Array.from(topLeft.data.slice(2))).toEqual([7, 7]);
    expect(Array.from(topLeft.data.slice(0, 2))).not.toEqual([7, 7]);
    // 2×2 box, 2×1 image centred: no whole padding row can stay exactly at one edge both ways.
    const centred = await gray({});
    expect(centred.data).toHaveLength(4);
  });

  it("crops the centre with cover and stretches with fill", async () => {
    // 3×1: red, green, blue. Cover into 1×1 keeps the centre (green); fill squashes all three.
    const bytes = await png(3, 1, [255, 0, 0, 0, 255, 0, 0, 0, 255]);
    const cover = await imageToTensor(spec({ width: 1, height: 1, resize: "cover" }), bytes);
    expect(Array.from(cover.data)).toEqual([0, 255, 0]);
    const fill = await imageToTensor(spec({ width: 1, height: 1, resize: "fill" }), bytes);
    expect(fill.shape).toEqual([1, 3, 1, 1]);
  });

  it("reads JPEG and WebP, flattens transparency onto the background, applies EXIF orientation", async () => {
    const base = sharp({
      create: { width: 4, height: 2, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    });
    const webp = await base.clone().webp({ lossless: true }).toBuffer();
    const flat = await imageToTensor(spec({ width: 4, height: 2, background: [200] }), webp);
    expect(new Set(flat.data)).toEqual(new Set([200]));
    // A 4×2 JPEG tagged "rotate 90°" is a 2×4 picture: contain into 2×4 fills the box with no padding.
    const jpeg = await sharp({ create: { width: 4, height: 2, channels: 3, background: "#ffffff" } })
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const rotated = await imageToTensor(
      spec({ width: 2, height: 4, resize: "contain", background: [0], channels: "GRAY" }),
      jpeg,
    );
    expect(Math.min(...rotated.data)).toBeGreaterThan(200);
  });

  it("stacks batch-1 tensors into a batch", async () => {
    const one = await imageToTensor(spec({ width: 2, height: 1 }), await png(2, 1, RED_BLUE));
    const batch = stackImageTensors([one, one]);
    expect(batch.shape).toEqual([2, 3, 1, 2]);
    expect(Array.from(batch.data)).toEqual([...one.data, ...one.data]);
  });
});

describe("imageToTensor (refusals)", () => {
  const any = spec({ width: 2, height: 2 });
  const refusal = async (bytes: Uint8Array, options?: { maxPixels?: number }) => {
    const error = await imageToTensor(any, bytes, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageInputError);
    return error as ImageInputError;
  };

  it("refuses empty bodies and bytes that are no image", async () => {
    expect(await refusal(new Uint8Array())).toMatchObject({ reason: "invalid", message: /empty/ });
    expect(await refusal(Buffer.from("hello world"))).toMatchObject({
      reason: "unsupported",
      message: /not a JPEG, PNG or WebP image \(first bytes 68 65 6c/,
    });
  });

  it("refuses formats it does not take (SVG, GIF) as unsupported", async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2"/>');
    expect((await refusal(svg)).reason).toBe("unsupported");
    const gif = await sharp({ create: { width: 2, height: 2, channels: 3, background: "#000" } })
      .gif()
      .toBuffer();
    expect((await refusal(gif)).reason).toBe("unsupported");
  });

  it("refuses truncated images and images over the pixel limit", async () => {
    const bytes = await sharp({ create: { width: 64, height: 64, channels: 3, background: "#123456" } })
      .png()
      .toBuffer();
    expect(await refusal(bytes.subarray(0, bytes.length / 2))).toMatchObject({
      reason: "invalid",
      message: /cannot decode the PNG image/,
    });
    expect(await refusal(bytes, { maxPixels: 1000 })).toMatchObject({
      reason: "too_large",
      message: /more than 1000 pixels/,
    });
  });

  it("sniffs formats by magic bytes", () => {
    expect(sniffImageFormat(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]))).toBe("jpeg");
    expect(sniffImageFormat(Buffer.from("RIFF0000WEBPVP8 "))).toBe("webp");
    expect(sniffImageFormat(Buffer.from("RIFF0000WAVE"))).toBeUndefined();
  });
});

describe("image preprocessing in the manifest", () => {
  const manifest = (pre: Record<string, unknown>, shape = [-1, 3, 48, 192], datatype = "FP32") => ({
    schemaVersion: 1,
    name: "images",
    version: "1.0.0",
    model: { file: "model.onnx", sha256: "a".repeat(64), size: 10 },
    inputs: [{ name: "x", datatype, shape }],
    outputs: [{ name: "y", datatype: "FP32", shape: [-1, 2] }],
    preprocessing: { kind: "image", input: "x", width: 192, height: 48, ...pre },
    createdAt: new Date().toISOString(),
  });

  it("takes a consistent image section with defaults", () => {
    const parsed = parseManifest(manifest({ scale: 1 / 255, mean: [0.5], std: [0.5] }));
    expect(parsed.preprocessing).toMatchObject({
      resize: "fill",
      layout: "NCHW",
      channels: "RGB",
      kernel: "linear",
    });
    expect(() => parseManifest(manifest({ layout: "NHWC" }, [1, 48, 192, 3]))).not.toThrow();
  });

  it.each([
    [
      "an unknown input",
      { input: "nope" },
      undefined,
      undefined,
      /preprocessing.input .*nope.* is not a model input/,
    ],
    ["a shape that does not fit", {}, [-1, 3, 224, 224], undefined, /needs \[batch, 3,48,192\]/],
    ["a wrong rank", {}, [-1, 3, 48], undefined, /needs \[batch/],
    ["GRAY into 3 channels", { channels: "GRAY" }, undefined, undefined, /needs \[batch, 1,48,192\]/],
    [
      "a datatype mismatch",
      { datatype: "UINT8" },
      undefined,
      undefined,
      /datatype is UINT8 but input .*x.* is FP32/,
    ],
    [
      "UINT8 with normalisation",
      { datatype: "UINT8", mean: [1] },
      undefined,
      "UINT8",
      /leave out scale, mean and std/,
    ],
    ["two mean values for RGB", { mean: [1, 2] }, undefined, undefined, /mean needs 1 or 3 values/],
  ])("refuses %s", (_, pre, shape, datatype, message) => {
    expect(() => parseManifest(manifest(pre, shape, datatype))).toThrow(message);
  });
});

describe("keep-aspect resizing", () => {
  const keepAspect = (resize: Record<string, unknown> = {}) =>
    ImagePreprocessingSchema.parse({
      kind: "image",
      input: "x",
      kernel: "nearest",
      background: [9],
      resize: { mode: "keep-aspect", maxSide: 64, multiple: 32, ...resize },
    });
  const solid = (width: number, height: number) =>
    sharp({ create: { width, height, channels: 3, background: "#ffffff" } })
      .png()
      .toBuffer();

  it("feeds each image at its own aspect ratio, padded to the multiple where it says", async () => {
    const landscape = await imageToTensor(keepAspect(), await solid(64, 48));
    expect(landscape.shape).toEqual([1, 3, 64, 64]);
    expect(landscape.geometry).toMatchObject({ resized: { width: 64, height: 48 }, offsetX: 0, offsetY: 8 });
    // 30×80 → 24×64 → padded to 32 wide, 4 columns each side in the background colour.
    const portrait = await imageToTensor(keepAspect(), await solid(30, 80));
    expect(portrait.shape).toEqual([1, 3, 64, 32]);
    const firstRow = Array.from(portrait.data.slice(0, 32));
    expect(firstRow).toEqual([...Array(4).fill(9), ...Array(24).fill(255), ...Array(4).fill(9)]);
    const rounded = await imageToTensor(keepAspect({ toMultiple: "round" }), await solid(30, 80));
    expect(rounded.shape).toEqual([1, 3, 64, 32]);
    expect(new Set(rounded.data)).toEqual(new Set([255]));
  });

  it("pads a batch of different shapes to its largest at the right and bottom", async () => {
    const { tensor, geometries } = await imagesToTensor(keepAspect({ toMultiple: "round" }), [
      await solid(64, 48),
      await solid(30, 80),
    ]);
    expect(tensor.shape).toEqual([2, 3, 64, 64]);
    expect(geometries.map((g) => g.input)).toEqual([
      { width: 64, height: 64 },
      { width: 64, height: 64 },
    ]);
    expect(geometries[1]).toMatchObject({ resized: { width: 32, height: 64 }, offsetX: 0 });
    // Image 2's first row: 32 image columns, then 32 of background.
    const second = Array.from(tensor.data.slice(3 * 64 * 64, 3 * 64 * 64 + 64));
    expect(second).toEqual([...Array(32).fill(255), ...Array(32).fill(9)]);
  });
});

describe("keep-aspect preprocessing in the manifest", () => {
  const manifest = (pre: Record<string, unknown>, shape = [-1, 3, -1, -1]) => ({
    schemaVersion: 1,
    name: "detector",
    version: "1.0.0",
    model: { file: "model.onnx", sha256: "a".repeat(64), size: 10 },
    inputs: [{ name: "x", datatype: "FP32", shape }],
    outputs: [{ name: "y", datatype: "FP32", shape: [-1, 2] }],
    preprocessing: { kind: "image", input: "x", resize: { mode: "keep-aspect", maxSide: 640 }, ...pre },
    createdAt: new Date().toISOString(),
  });

  it("takes a model with dynamic height and width, with defaults", () => {
    expect(parseManifest(manifest({})).preprocessing).toMatchObject({
      resize: { mode: "keep-aspect", maxSide: 640, multiple: 32, toMultiple: "pad", upscale: false },
    });
  });

  it.each([
    [
      "a fixed height and width",
      {},
      [-1, 3, 640, 640],
      /needs dynamic H and W: \[batch, 3, H, W\].*resize ..contain/,
    ],
    ["a width beside keep-aspect", { width: 640 }, undefined, /keep-aspect resize takes no width or height/],
    [
      "a maxSide off the multiple",
      { resize: { mode: "keep-aspect", maxSide: 650 } },
      undefined,
      /maxSide 650 is not a multiple of 32/,
    ],
    [
      "a misspelt keep-aspect field",
      { resize: { mode: "keep-aspect", maxside: 640 } },
      undefined,
      /keep-aspect resize: .*maxSide/,
    ],
    ["an unknown mode", { resize: "squash" }, undefined, /resize must be one of fill, cover, contain/],
    ["fill without a size", { resize: "fill" }, undefined, /resize ..fill.. needs width and height/],
  ])("refuses %s", (_, pre, shape, message) => {
    expect(() => parseManifest(manifest(pre, shape))).toThrow(message);
  });
});

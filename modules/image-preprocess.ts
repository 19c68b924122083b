/**
 * Image preprocessing with sharp: JPEG/PNG/WebP bytes → one image tensor as the manifest's `image`
 * preprocessing describes it (resize mode, channel order, scale/mean/std, layout, datatype).
 * Decoding and resizing run in libvips on libuv's thread pool, so the event loop only pays for the
 * final pixel → tensor loop.
 */
import sharp from "sharp";
import { geometryOf, type ImageGeometry, planResize, type Size } from "./image-geometry.js";
import type { ImagePreprocessing } from "./image-manifest.js";
import { InputError } from "./preprocess.js";

/** Why an image was refused: maps to HTTP 415 (unsupported), 413 (too_large) or 400 (invalid). */
export type ImageRefusal = "unsupported" | "too_large" | "invalid";

/** Bytes that are not an image this preprocessing takes; the message says why. */
export class ImageInputError extends InputError {
  constructor(
    readonly reason: ImageRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** Image formats accepted: the ones cameras and browsers produce. SVG, GIF, TIFF… are refused. */
export const IMAGE_FORMATS = ["jpeg", "png", "webp"] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** Largest decoded image by default (pixels): a 24 MP photo, ~72 MB of RGB while resizing. */
export const DEFAULT_MAX_IMAGE_PIXELS = 24_000_000;

export interface ImageTensor {
  datatype: "FP32" | "UINT8";
  /** Row-major tensor data: [1, C, H, W] or [1, H, W, C]. */
  data: Float32Array | Uint8Array;
  shape: number[];
}

export interface ImageOptions {
  /** Refuse images whose width × height exceeds this (before any resize). */
  maxPixels?: number;
}

/** Sniffs the container format from the first bytes; undefined when it is none we take. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  const at = (offset: number, ...values: number[]) => values.every((v, i) => bytes[offset + i] === v);
  if (at(0, 0xff, 0xd8, 0xff)) return "jpeg";
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "png";
  // RIFF....WEBP
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return "webp";
  return undefined;
}

/** A batch-1 image tensor and where the image landed in it (for mapping boxes back). */
export type PlacedImageTensor = ImageTensor & { geometry: ImageGeometry };

/** Decodes, orients, resizes and normalises one image into a batch-1 tensor; throws ImageInputError. */
export async function imageToTensor(
  spec: ImagePreprocessing,
  bytes: Uint8Array,
  options: ImageOptions = {},
): Promise<PlacedImageTensor> {
  const { pixels, geometry } = await decodeImage(spec, bytes, options);
  return { ...toTensor(spec, pixels), geometry };
}

/**
 * Several images as one batch tensor, one geometry per image. Keep-aspect images of different
 * shapes are padded at the right and bottom with `background` to the batch's largest height and
 * width (the model sees one shape per run); their offsets do not change. Errors name the image.
 */
export async function imagesToTensor(
  spec: ImagePreprocessing,
  images: readonly Uint8Array[],
  options: ImageOptions = {},
): Promise<{ tensor: ImageTensor; geometries: ImageGeometry[] }> {
  const decoded = await Promise.all(
    images.map((bytes, i) =>
      decodeImage(spec, bytes, options).catch((error: unknown) => {
        if (error instanceof ImageInputError && images.length > 1) {
          throw new ImageInputError(error.reason, `image #${i + 1}: ${error.message}`);
        }
        throw error;
      }),
    ),
  );
  const canvas = {
    width: Math.max(...decoded.map((d) => d.pixels.width)),
    height: Math.max(...decoded.map((d) => d.pixels.height)),
  };
  const fill = backgroundPixel(spec);
  const tensor = stackImageTensors(decoded.map((d) => toTensor(spec, padPixels(d.pixels, canvas, fill))));
  return { tensor, geometries: decoded.map((d) => ({ ...d.geometry, input: canvas })) };
}

/** Stacks batch-1 image tensors of one shape into one [n, ...] tensor (all from the same preprocessing). */
export function stackImageTensors(tensors: readonly ImageTensor[]): ImageTensor {
  const first = tensors[0];
  if (first === undefined) throw new InputError("no image to score");
  if (tensors.length === 1) return { datatype: first.datatype, data: first.data, shape: first.shape };
  const size = first.data.length;
  if (tensors.some((t) => t.data.length !== size)) {
    throw new InputError("images of different tensor shapes cannot share a batch");
  }
  const data =
    first.datatype === "FP32"
      ? new Float32Array(size * tensors.length)
      : new Uint8Array(size * tensors.length);
  for (const [i, tensor] of tensors.entries()) data.set(tensor.data, i * size);
  return { datatype: first.datatype, data, shape: [tensors.length, ...first.shape.slice(1)] };
}

interface Pixels {
  /** Interleaved (HWC) 8-bit pixels, `channels` per pixel, exactly width × height. */
  data: Uint8Array;
  channels: number;
  width: number;
  height: number;
}

async function decodeImage(
  spec: ImagePreprocessing,
  bytes: Uint8Array,
  options: ImageOptions,
): Promise<{ pixels: Pixels; geometry: ImageGeometry }> {
  if (bytes.length === 0) throw new ImageInputError("invalid", "the image is empty");
  const format = sniffImageFormat(bytes);
  if (format === undefined) {
    throw new ImageInputError(
      "unsupported",
      `not a JPEG, PNG or WebP image (first bytes ${hex(bytes.subarray(0, 8))})`,
    );
  }
  return resizedPixels(spec, bytes, format, options.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS);
}

async function resizedPixels(
  spec: ImagePreprocessing,
  bytes: Uint8Array,
  format: ImageFormat,
  maxPixels: number,
): Promise<{ pixels: Pixels; geometry: ImageGeometry }> {
  const gray = spec.channels === "GRAY";
  const background = colour(spec.background, spec.channels === "BGR");
  try {
    // failOn "error": truncated or corrupt files are refused instead of scored half-grey.
    const decoder = sharp(bytes, { limitInputPixels: maxPixels, failOn: "error" });
    // The header alone gives the oriented size, which the plan needs before any pixel is decoded.
    const { autoOrient } = await decoder.metadata();
    if (autoOrient.width * autoOrient.height > maxPixels) throw new Error("pixel limit exceeded");
    const source = { width: autoOrient.width, height: autoOrient.height };
    const plan = planResize(spec, source);
    // Resize to exactly the planned size, then pad (contain, keep-aspect) or crop (cover): the
    // geometry is then exact by construction.
    let image = decoder
      .rotate() // apply EXIF orientation, as a viewer shows the photo
      .flatten({ background })
      .resize({ ...plan.resized, fit: "fill", kernel: spec.kernel });
    const right = plan.input.width - plan.resized.width - plan.left;
    const bottom = plan.input.height - plan.resized.height - plan.top;
    if (plan.left < 0 || plan.top < 0) {
      image = image.extract({ left: -plan.left, top: -plan.top, ...plan.input });
    } else if (plan.left > 0 || plan.top > 0 || right > 0 || bottom > 0) {
      image = image.extend({ top: plan.top, left: plan.left, bottom, right, background });
    }
    image = gray ? image.toColourspace("b-w") : image.toColourspace("srgb");
    const { data, info } = await image.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
    const channels = gray ? 1 : 3;
    if (info.width !== plan.input.width || info.height !== plan.input.height || info.channels !== channels) {
      throw new Error(`resized to ${info.width}x${info.height}x${info.channels}`);
    }
    const pixels = {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      channels,
      ...plan.input,
    };
    return { pixels, geometry: geometryOf(source, plan) };
  } catch (error) {
    const message = (error as Error).message;
    if (/pixel limit/i.test(message)) {
      throw new ImageInputError("too_large", `the image has more than ${maxPixels} pixels`);
    }
    throw new ImageInputError("invalid", `cannot decode the ${format.toUpperCase()} image: ${message}`);
  }
}

/** Pads pixels at the right and bottom to `canvas` with `fill` (one value per pixel channel). */
function padPixels(pixels: Pixels, canvas: Size, fill: readonly number[]): Pixels {
  if (pixels.width === canvas.width && pixels.height === canvas.height) return pixels;
  const c = pixels.channels;
  const out = new Uint8Array(canvas.width * canvas.height * c);
  for (let p = 0; p < canvas.width * canvas.height; p++) {
    for (let k = 0; k < c; k++) out[p * c + k] = fill[k]!;
  }
  const row = pixels.width * c;
  for (let y = 0; y < pixels.height; y++) {
    out.set(pixels.data.subarray(y * row, (y + 1) * row), y * canvas.width * c);
  }
  return { data: out, channels: c, ...canvas };
}

/** The background as decoded pixels hold it: RGB (before any BGR swap) or one gray value. */
function backgroundPixel(spec: ImagePreprocessing): number[] {
  // GRAY takes one background value (parseManifest checks), which stays that value in b-w.
  if (spec.channels === "GRAY") return [spec.background[0]!];
  const { r, g, b } = colour(spec.background, spec.channels === "BGR");
  return [r, g, b];
}

/** Pixels (HWC, RGB or gray) → the tensor: channel order, layout, scale/mean/std, datatype. */
function toTensor(spec: ImagePreprocessing, pixels: Pixels): ImageTensor {
  const { width: w, height: h } = pixels;
  const c = pixels.channels;
  const shape = spec.layout === "NCHW" ? [1, c, h, w] : [1, h, w, c];
  // Tensor channel k reads source channel order[k]: BGR swaps R and B.
  const order = spec.channels === "BGR" ? [2, 1, 0] : spec.channels === "GRAY" ? [0] : [0, 1, 2];
  const src = pixels.data;
  const plane = w * h;
  if (spec.datatype === "UINT8") {
    const out = new Uint8Array(plane * c);
    if (spec.layout === "NHWC" && spec.channels !== "BGR") out.set(src);
    else writeLayout(spec.layout, order, src, plane, c, (i, v) => (out[i] = v));
    return { datatype: "UINT8", data: out, shape };
  }
  // value = (pixel * scale - mean) / std = pixel * a + b, per tensor channel.
  const pick = (values: readonly number[], k: number) => values[values.length === 1 ? 0 : k]!;
  const a = order.map((_, k) => spec.scale / pick(spec.std, k));
  const b = order.map((_, k) => -pick(spec.mean, k) / pick(spec.std, k));
  const out = new Float32Array(plane * c);
  if (spec.layout === "NCHW") {
    for (let k = 0; k < c; k++) {
      const from = order[k]!;
      const ak = a[k]!;
      const bk = b[k]!;
      const base = k * plane;
      for (let p = 0; p < plane; p++) out[base + p] = src[p * c + from]! * ak + bk;
    }
  } else {
    for (let p = 0; p < plane; p++) {
      for (let k = 0; k < c; k++) out[p * c + k] = src[p * c + order[k]!]! * a[k]! + b[k]!;
    }
  }
  return { datatype: "FP32", data: out, shape };
}

function writeLayout(
  layout: "NCHW" | "NHWC",
  order: readonly number[],
  src: Uint8Array,
  plane: number,
  c: number,
  write: (index: number, value: number) => void,
): void {
  for (let p = 0; p < plane; p++) {
    for (let k = 0; k < c; k++) {
      write(layout === "NCHW" ? k * plane + p : p * c + k, src[p * c + order[k]!]!);
    }
  }
}

/** The background as sharp wants it; per-channel values come in the tensor's channel order. */
function colour(values: readonly number[], bgr: boolean): { r: number; g: number; b: number } {
  const [first, g = first, last = first] = values as [number, number?, number?];
  return bgr ? { r: last, g, b: first } : { r: first, g, b: last };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join(" ") || "none";
}

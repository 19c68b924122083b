/**
 * Where an image lands in the model input, and back. Every resize mode is, per axis, a scale and
 * an offset: `input = source · scale + offset` (fill stretches, contain and keep-aspect padding
 * shift by the padding, cover shifts by minus the crop). The preprocessor resizes to exactly the
 * sizes planned here, so mapping a box back is exact, not a guess at the resizer's rounding.
 * Pure arithmetic: no sharp, no tensors.
 */
import type { ImagePreprocessing, KeepAspectResize } from "./image-manifest.js";

export interface Size {
  width: number;
  height: number;
}

/** How one image became (part of) the model input: continuous pixel coordinates, pixel edges at integers. */
export interface ImageGeometry {
  /** The image as sent, after EXIF orientation. */
  source: Size;
  /** The model input's height × width this image was fed at (a batch's common size). */
  input: Size;
  /** The image's resized size inside the input, before padding or cropping. */
  resized: Size;
  /** input = source · scale + offset, per axis. */
  scaleX: number;
  scaleY: number;
  offsetX: number;
  offsetY: number;
}

/** The resize a preprocessor must do: scale the source to `resized`, then place it at `left`, `top` in `input`. */
export interface ResizePlan {
  resized: Size;
  input: Size;
  /** Where the resized image's top-left corner sits in the input: negative for a crop (cover). */
  left: number;
  top: number;
}

/** The plan for one image of `source` size under the section's resize mode. */
export function planResize(pre: ImagePreprocessing, source: Size): ResizePlan {
  if (typeof pre.resize === "object") return planKeepAspect(pre.resize, pre.position, source);
  const box = { width: pre.width!, height: pre.height! };
  if (pre.resize === "fill") return { resized: box, input: box, left: 0, top: 0 };
  const ratio =
    pre.resize === "contain"
      ? Math.min(box.width / source.width, box.height / source.height)
      : Math.max(box.width / source.width, box.height / source.height);
  // The side that sets the ratio comes out exactly the box's; the other rounds, and stays inside
  // the box (contain) or covers it (cover) despite floating-point error.
  const sideIn = (side: number, boxSide: number) => {
    const scaled = Math.max(1, Math.round(side * ratio));
    return pre.resize === "contain" ? Math.min(boxSide, scaled) : Math.max(boxSide, scaled);
  };
  const resized = { width: sideIn(source.width, box.width), height: sideIn(source.height, box.height) };
  const centred = pre.position === "center";
  return {
    resized,
    input: box,
    // Contain pads (left/top ≥ 0), cover crops (≤ 0); integer division puts an odd pixel right/bottom.
    left: centred ? Math.trunc((box.width - resized.width) / 2) : 0,
    top: centred ? Math.trunc((box.height - resized.height) / 2) : 0,
  };
}

/** Keep-aspect: longest side bounded by maxSide, then each side padded or rounded to a multiple. */
export function planKeepAspect(
  resize: KeepAspectResize,
  position: ImagePreprocessing["position"],
  source: Size,
): ResizePlan {
  const longest = Math.max(source.width, source.height);
  const ratio = resize.upscale ? resize.maxSide / longest : Math.min(1, resize.maxSide / longest);
  const scaled = (side: number) => Math.min(resize.maxSide, Math.max(1, Math.round(side * ratio)));
  const m = resize.multiple;
  if (resize.toMultiple === "round") {
    const round = (side: number) => Math.min(resize.maxSide, Math.max(m, Math.round(side / m) * m));
    const size = { width: round(scaled(source.width)), height: round(scaled(source.height)) };
    return { resized: size, input: size, left: 0, top: 0 };
  }
  const resized = { width: scaled(source.width), height: scaled(source.height) };
  const input = { width: Math.ceil(resized.width / m) * m, height: Math.ceil(resized.height / m) * m };
  const centred = position === "center";
  return {
    resized,
    input,
    left: centred ? Math.floor((input.width - resized.width) / 2) : 0,
    top: centred ? Math.floor((input.height - resized.height) / 2) : 0,
  };
}

/** The geometry of a plan; `input` may be a larger common size a batch was padded to (right and bottom). */
export function geometryOf(source: Size, plan: ResizePlan, input: Size = plan.input): ImageGeometry {
  return {
    source,
    input,
    resized: plan.resized,
    scaleX: plan.resized.width / source.width,
    scaleY: plan.resized.height / source.height,
    offsetX: plan.left,
    offsetY: plan.top,
  };
}

/** Box encodings: corners, corner and size, or centre and size; all in pixels. */
export const BOX_FORMATS = ["xyxy", "xywh", "cxcywh"] as const;
export type BoxFormat = (typeof BOX_FORMATS)[number];

/**
 * Maps boxes from model-input pixels to the source image's pixels, in place: `values` holds boxes
 * of `stride` numbers each (stride ≥ 4), the first four in `format`, the rest (scores, classes)
 * untouched. Positions are un-offset and un-scaled; sizes are only un-scaled. Not clipped: a box
 * reaching into the padding maps past the image's edge, as the model said.
 */
export function boxesToSource(
  values: number[],
  stride: number,
  format: BoxFormat,
  geometry: ImageGeometry,
): number[] {
  const x = (v: number) => (v - geometry.offsetX) / geometry.scaleX;
  const y = (v: number) => (v - geometry.offsetY) / geometry.scaleY;
  for (let i = 0; i + 4 <= values.length; i += stride) {
    const [a, b, c, d] = [values[i]!, values[i + 1]!, values[i + 2]!, values[i + 3]!];
    const positions = format === "xyxy";
    values[i] = x(a);
    values[i + 1] = y(b);
    values[i + 2] = positions ? x(c) : c / geometry.scaleX;
    values[i + 3] = positions ? y(d) : d / geometry.scaleY;
  }
  return values;
}

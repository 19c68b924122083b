/**
 * The manifest's `image` preprocessing section (modules/image-preprocess.ts does the work): JPEG,
 * PNG or WebP bytes → one image tensor, at a fixed width × height or, for models with dynamic
 * height and width (detectors), at the image's own aspect ratio. Kept apart from manifest.ts,
 * which re-exports it, so each file holds one idea.
 */
import { z } from "zod";

/** Per-channel numbers: one value for every channel, or one per channel in `channels` order. */
const perChannel = (item: z.ZodNumber) => z.array(item).min(1).max(3);

/** The fixed-size resize modes: the tensor is always `width` × `height`. */
export const FIXED_RESIZE_MODES = ["fill", "cover", "contain"] as const;

/**
 * Keep-aspect resizing for models whose height and width are dynamic: the image keeps its aspect
 * ratio, its longest side is bounded by `maxSide`, and each side reaches a multiple of `multiple`
 * (the detector's stride) by padding (`toMultiple: "pad"`, exact aspect) or by rounding the side to
 * the nearest multiple (`"round"`, as PaddleOCR's text detector does; the aspect shifts by at most
 * half a multiple per side, nothing is padded).
 */
export const KeepAspectResizeSchema = z
  .object({
    mode: z.literal("keep-aspect"),
    /** Longest side of the resized image in pixels; a multiple of `multiple`. */
    maxSide: z.number().int().min(1).max(8192),
    /** Each side of the tensor is a multiple of this (32 suits most detectors' strides). */
    multiple: z.number().int().min(1).max(512).default(32),
    toMultiple: z.enum(["pad", "round"]).default("pad"),
    /** Scale images smaller than `maxSide` up to it too; off: small images keep their size. */
    upscale: z.boolean().default(false),
  })
  .strict();
export type KeepAspectResize = z.infer<typeof KeepAspectResizeSchema>;

/**
 * `resize`: a fixed mode name or a keep-aspect object. Zod's union error says only "Invalid
 * input"; this one says what was wrong with the branch the caller meant (by the value's type).
 */
const ResizeSchema = z.union([z.enum(FIXED_RESIZE_MODES), KeepAspectResizeSchema], {
  error: (issue) => {
    const meantObject = typeof issue.input === "object" && issue.input !== null;
    const branch = (issue as { errors?: { path: PropertyKey[]; message: string }[][] }).errors?.[
      meantObject ? 1 : 0
    ];
    if (!meantObject || branch === undefined) {
      return `resize must be one of ${FIXED_RESIZE_MODES.join(", ")}, or { "mode": "keep-aspect", "maxSide": … }`;
    }
    return `keep-aspect resize: ${branch
      .map((e) => (e.path.length > 0 ? `${e.path.join(".")}: ${e.message}` : e.message))
      .join("; ")}`;
  },
});

/**
 * Image preprocessing (modules/image-preprocess.ts): JPEG/PNG/WebP bytes → one image tensor.
 * Each element is `(pixel * scale - mean[c]) / std[c]` for FP32, the raw pixel for UINT8.
 */
export const ImagePreprocessingSchema = z
  .object({
    kind: z.literal("image"),
    /** Model input the image tensor is fed to: rank 4, [batch, C, H, W] (NCHW) or [batch, H, W, C] (NHWC). */
    input: z.string().min(1),
    /** The tensor's width and height for the fixed modes; keep-aspect leaves them out. */
    width: z.number().int().min(1).max(8192).optional(),
    height: z.number().int().min(1).max(8192).optional(),
    /**
     * fill: stretch to width × height; cover: scale to cover the box, crop the centre;
     * contain: scale to fit inside the box, pad the rest with `background` (letterbox);
     * { mode: "keep-aspect", … }: the image's own aspect ratio, sides bounded and rounded (above).
     */
    resize: ResizeSchema.default("fill"),
    /** Where `contain` and keep-aspect padding put the image (PaddleOCR pads right and bottom: top-left). */
    position: z.enum(["center", "top-left"]).default("center"),
    /** Letterbox and transparency colour, pixel values 0-255 before scaling (e.g. [114] as YOLO does). */
    background: perChannel(z.number().int().min(0).max(255)).default([0]),
    /** Resampling kernel; most training pipelines resize bilinearly. */
    kernel: z.enum(["nearest", "linear", "cubic", "lanczos3"]).default("linear"),
    /** Channel order in the tensor; GRAY gives one channel. */
    channels: z.enum(["RGB", "BGR", "GRAY"]).default("RGB"),
    /** Multiplies each pixel (0-255) first, e.g. 1/255 = 0.00392156862745098. FP32 only. */
    scale: z.number().positive().default(1),
    /** Subtracted after scaling, per channel. FP32 only. */
    mean: perChannel(z.number()).default([0]),
    /** Divides after the mean, per channel. FP32 only. */
    std: perChannel(z.number().positive()).default([1]),
    layout: z.enum(["NCHW", "NHWC"]).default("NCHW"),
    datatype: z.enum(["FP32", "UINT8"]).default("FP32"),
  })
  .superRefine((pre, ctx) => {
    const sized = pre.width !== undefined || pre.height !== undefined;
    if (typeof pre.resize === "object") {
      if (sized) {
        ctx.addIssue({
          code: "custom",
          path: ["width"],
          message: "keep-aspect resize takes no width or height: resize.maxSide bounds the size",
        });
      }
      if (pre.resize.maxSide % pre.resize.multiple !== 0) {
        ctx.addIssue({
          code: "custom",
          path: ["resize", "maxSide"],
          message: `maxSide ${pre.resize.maxSide} is not a multiple of ${pre.resize.multiple}`,
        });
      }
    } else if (pre.width === undefined || pre.height === undefined) {
      ctx.addIssue({
        code: "custom",
        path: [pre.width === undefined ? "width" : "height"],
        message: `resize "${pre.resize}" needs width and height (or use { "mode": "keep-aspect", "maxSide": … } for a model with dynamic height and width)`,
      });
    }
  });
export type ImagePreprocessing = z.infer<typeof ImagePreprocessingSchema>;

/** The tensor's fixed width and height; only for the fixed modes (the schema requires them there). */
export function fixedSize(pre: ImagePreprocessing): { width: number; height: number } {
  if (typeof pre.resize === "object" || pre.width === undefined || pre.height === undefined) {
    throw new Error("fixedSize: keep-aspect preprocessing has no fixed size");
  }
  return { width: pre.width, height: pre.height };
}

/** A model input as the cross-checks need it. */
interface InputSpec {
  name: string;
  datatype: string;
  shape: readonly number[];
}

/** Cross-section checks of image preprocessing: the input exists and has the layout's shape. */
export function imageProblems(inputs: readonly InputSpec[], pre: ImagePreprocessing): string[] {
  const problems: string[] = [];
  const channels = pre.channels === "GRAY" ? 1 : 3;
  for (const key of ["background", "mean", "std"] as const) {
    if (pre[key].length !== 1 && pre[key].length !== channels) {
      problems.push(`preprocessing.${key} needs 1 or ${channels} values for ${pre.channels}`);
    }
  }
  const identity = pre.scale === 1 && pre.mean.every((v) => v === 0) && pre.std.every((v) => v === 1);
  if (pre.datatype === "UINT8" && !identity) {
    problems.push("preprocessing with datatype UINT8 feeds raw pixels: leave out scale, mean and std");
  }
  const input = inputs.find((t) => t.name === pre.input);
  if (input === undefined) return [...problems, `preprocessing.input "${pre.input}" is not a model input`];
  if (input.datatype !== pre.datatype) {
    problems.push(`preprocessing.datatype is ${pre.datatype} but input "${pre.input}" is ${input.datatype}`);
  }
  // -1 stands for a size that varies with the image (keep-aspect): only a dynamic dimension fits it.
  const keepAspect = typeof pre.resize === "object";
  const [h, w] = keepAspect ? [-1, -1] : [pre.height!, pre.width!];
  const expected = pre.layout === "NCHW" ? [channels, h, w] : [h, w, channels];
  const fits =
    input.shape.length === 4 &&
    expected.every((dim, i) => input.shape[i + 1] === -1 || input.shape[i + 1] === dim);
  if (fits) return problems;
  if (keepAspect) {
    const wanted = pre.layout === "NCHW" ? `[batch, ${channels}, H, W]` : `[batch, H, W, ${channels}]`;
    problems.push(
      `keep-aspect resize feeds each image at its own height and width, so image input "${pre.input}" ` +
        `needs dynamic H and W: ${wanted}, but it has shape [${input.shape}]; for a fixed-size model ` +
        `use resize "contain" with its width and height (letterbox)`,
    );
  } else {
    problems.push(
      `image input "${pre.input}" has shape [${input.shape}] but ${pre.layout} ${pre.channels} ` +
        `${pre.width}x${pre.height} needs [batch, ${expected}]`,
    );
  }
  return problems;
}

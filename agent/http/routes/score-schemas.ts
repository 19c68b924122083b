/**
 * POST /v1/modules/{name}/score bodies (documented in agent/README.md). Exactly one of:
 * - `features`: one row of named features (tabular modules);
 * - `instances`: several such rows, scored as one batch;
 * - `inputs`: model tensors by input name, `{ "shape": [...], "data": [...] }` or a nested array
 *   whose nesting gives the shape (modules without tabular preprocessing).
 * Feature values are checked by the module's preprocessing, which names the bad feature.
 */
import { z } from "zod";
import type { ImageGeometry } from "../../../modules/image-geometry.js";

/** Rows per request: keeps one request's inference (inline on the main thread) short. */
export const MAX_INSTANCES = 1024;

const FeatureRowSchema = z.record(z.string(), z.unknown());

export const TensorValueSchema = z.union([
  z.object({ shape: z.array(z.number().int().nonnegative()), data: z.array(z.unknown()) }),
  z.array(z.unknown()),
]);

export const ScoreRequestSchema = z
  .object({
    features: FeatureRowSchema.optional(),
    instances: z.array(FeatureRowSchema).min(1).max(MAX_INSTANCES).optional(),
    inputs: z.record(z.string(), TensorValueSchema).optional(),
  })
  .strict()
  .refine(
    (body) => [body.features, body.instances, body.inputs].filter((part) => part !== undefined).length === 1,
    { message: 'send exactly one of "features", "instances" or "inputs"' },
  );
export type ScoreRequest = z.infer<typeof ScoreRequestSchema>;

export interface ScoreResponse {
  module: string;
  version: string;
  predictions: unknown[];
  /** One random id per row, to attach feedback (true labels) to a prediction later. */
  predictionIds: string[];
  /** Image requests: per image, its size, the model input size it was fed at, and the transform. */
  images?: ImageGeometry[];
  /** Modules that declare a box output: which space its boxes are in ("image": each original image's pixels). */
  boxes?: { output: string; format: string; space: "image" | "input" };
}

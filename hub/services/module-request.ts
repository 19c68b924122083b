/** The request to package a module version, shared by the HTTP route and the packaging service. */
import { z } from "zod";
import { MonitoringSchema } from "../../drift-summary/monitoring.js";
import {
  MAX_VARIANTS,
  ModuleNameSchema,
  ModuleVariantSchema,
  PostprocessingSchema,
  PreprocessingSchema,
  ResourceNeedsSchema,
  RuntimeOptionsSchema,
  SemverSchema,
  VariantRequiresSchema,
} from "../../modules/manifest.js";

/** A request to package a model version (and variants) as a signed module version. */
export const CreateModuleBodySchema = z.object({
  name: ModuleNameSchema,
  version: SemverSchema,
  description: z.string().max(1024).optional(),
  model: z.object({ name: z.string().min(1), version: z.number().int().positive() }),
  preprocessing: PreprocessingSchema.optional(),
  postprocessing: PostprocessingSchema.optional(),
  runtime: RuntimeOptionsSchema.partial().optional(),
  resources: ResourceNeedsSchema.optional(),
  /** Drift monitoring bins and training reference (modules/monitoring.ts); trained models get it from their baseline. */
  monitoring: MonitoringSchema.optional(),
  /**
   * Ship the model version's validated int8 variant (`models quantize`) for profiles that prefer
   * int8, tried before any other variant; the version must have one.
   */
  int8: z.boolean().optional(),
  /** Per-profile variants, tried in order by each device; `model` serves devices no variant fits. */
  variants: z
    .array(
      z.object({
        name: ModuleVariantSchema.shape.name,
        model: z.object({ name: z.string().min(1), version: z.number().int().positive() }),
        requires: VariantRequiresSchema.optional(),
        runtime: ModuleVariantSchema.shape.runtime,
      }),
    )
    .max(MAX_VARIANTS)
    .optional(),
});
export type CreateModuleRequest = z.infer<typeof CreateModuleBodySchema>;

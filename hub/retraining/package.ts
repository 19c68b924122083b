/**
 * A module version from a trained model version, manifest built automatically: tabular
 * preprocessing from the version's `training.features` (the model's `features` vector input),
 * argmax over `probabilities` for classifiers (raw `prediction` for regressors), and `monitoring`
 * from the version's baseline profile (hub/monitors/from-baseline.ts), so devices
 * summarise drift on the training bins. `POST /api/v1/models/{name}/versions/{v}/package` and the
 * retraining loop both use it.
 */
import semver from "semver";
import { z } from "zod";
import { found, ValidationError } from "../../lib/errors.js";
import {
  ModuleNameSchema,
  type Postprocessing,
  RuntimeOptionsSchema,
  SemverSchema,
} from "../../modules/manifest.js";
import { monitoringFromBaseline } from "../monitors/drift-lib.js";
import { createModule, type PackagingDeps } from "../services/packaging.js";

export const PackageTrainedBodySchema = z
  .object({
    /** Module name; default: the model's name. */
    module: ModuleNameSchema.optional(),
    /** Default: the next patch of the module's highest version, or 1.0.0 for a new module. */
    version: SemverSchema.optional(),
    description: z.string().max(1024).optional(),
    runtime: RuntimeOptionsSchema.partial().optional(),
    /** Whether devices may send raw sample rows when the hub asks (default: not allowed). */
    samples: z
      .object({ allowed: z.boolean(), maxPerWindow: z.number().int().min(1).max(1000).optional() })
      .strict()
      .optional(),
    /** Devices hold back drift windows with fewer rows (default 20). */
    minRows: z.number().int().min(1).max(1_000_000).optional(),
    /** Ship the version's validated int8 file (`models quantize`) as a variant for int8 profiles. */
    int8: z.boolean().optional(),
  })
  .strict();
export type PackageTrainedBody = z.infer<typeof PackageTrainedBodySchema>;

/** The next patch version after the module's highest version, or 1.0.0 when it has none. */
export async function nextPatchVersion(
  deps: { repos: Pick<PackagingDeps["repos"], "modules"> },
  module: string,
): Promise<string> {
  const versions = (await deps.repos.modules.list(module))
    .map((m) => m.version)
    .filter((v) => semver.valid(v));
  const highest = semver.rsort(versions)[0];
  return highest ? semver.inc(highest, "patch")! : "1.0.0";
}

/** Packages a trained model version (number or alias) as a module version; 400 for uploaded models. */
export async function packageTrainedModel(
  deps: PackagingDeps,
  modelName: string,
  ref: string | number,
  body: PackageTrainedBody,
) {
  const modelVersion = found(
    await deps.repos.models.resolveVersion(modelName, ref),
    `model ${modelName} version ${ref}`,
  );
  const training = modelVersion.training;
  if (!training) {
    throw new ValidationError(
      `model ${modelName} version ${modelVersion.version} has no training info (it was uploaded, not trained): package it with POST /api/v1/modules and your own pre/post-processing`,
    );
  }
  if (training.inputMode !== "vector") {
    throw new ValidationError(
      `model ${modelName} version ${modelVersion.version} takes one input per column (inputMode "columns"); only "vector" models can be packaged automatically`,
    );
  }
  const postprocessing: Postprocessing =
    training.task === "classification"
      ? { kind: "argmax", output: "probabilities", labels: training.classes, applySoftmax: false }
      : { kind: "raw" };
  const monitoring = modelVersion.baseline
    ? monitoringFromBaseline(modelVersion.baseline, {
        ...(body.samples ? { samples: body.samples } : {}),
        ...(body.minRows !== undefined ? { minRows: body.minRows } : {}),
      })
    : undefined;
  const name = body.module ?? modelName;
  const version = body.version ?? (await nextPatchVersion(deps, name));
  return createModule(deps, {
    name,
    version,
    description:
      body.description ??
      `${modelName} v${modelVersion.version} (trained; ${training.task} of ${training.target})`,
    model: { name: modelName, version: modelVersion.version },
    preprocessing: { kind: "tabular", input: "features", features: training.features },
    postprocessing,
    // Trained graphs impute NaN with the training mean (training/features/inputs.ts), so OIP
    // clients may send null for a gap in "features".
    runtime: { missingAsNaN: ["features"], ...body.runtime },
    ...(monitoring ? { monitoring } : {}),
    ...(body.int8 ? { int8: true } : {}),
  });
}

/**
 * Module packaging: a registered model version plus pre/post-processing and runtime options
 * becomes a signed module tarball, stored as a blob and recorded in the registry.
 */

import { z } from "zod";
import { ConflictError, found, ValidationError } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import { InvalidManifestError } from "../../modules/errors.js";
import { type Manifest, type ManifestInput, parseManifest } from "../../modules/manifest.js";
import { type PackVariantInput, packModule } from "../../modules/pack.js";
import type { BlobStore } from "../blobs/blob-store.js";
import type { SigningKeys } from "../keys.js";
import type { Repositories } from "../repos/index.js";
import type { ModelVersion } from "../repos/models.js";
import type { CreateModuleRequest } from "./module-request.js";
import { probeWarmup } from "./warmup-probe.js";

/** What packaging uses: the model and module repositories, the blob store, the signing key, a log. */
export interface PackagingDeps {
  repos: Pick<Repositories, "models" | "modules">;
  blobs: BlobStore;
  signing: Pick<SigningKeys, "privateKeyPem">;
  log: Logger;
}

/** The variant name packaging gives a version's int8 file. */
export const INT8_VARIANT = "int8";

/** The version's validated int8 file as a variant for int8 profiles, with its figures. */
async function int8Variant(deps: PackagingDeps, version: ModelVersion): Promise<PackVariantInput> {
  const int8 = version.int8;
  if (!int8) {
    throw new ValidationError(
      `model ${version.modelName} version ${version.version} has no int8 variant; run \`edgefleet models quantize ${version.modelName}@${version.version}\` first`,
    );
  }
  return {
    name: INT8_VARIANT,
    requires: { precision: ["int8"] },
    modelBytes: await deps.blobs.read(int8.sha256),
    validation: {
      metric: int8.metric,
      higherIsBetter: int8.higherIsBetter,
      reference: int8.float,
      value: int8.int8,
      relativeLoss: int8.relativeLoss,
      testRows: int8.testRows,
      method: `int8-${int8.mode}`,
    },
  };
}

/** Packages, signs and stores a module version; refuses duplicates before doing any work. */
export async function createModule(deps: PackagingDeps, request: CreateModuleRequest) {
  if (await deps.repos.modules.get(request.name, request.version)) {
    throw new ConflictError(
      "module",
      `${request.name}@${request.version}`,
      `module ${request.name}@${request.version} already exists; versions are immutable`,
    );
  }
  const { name: modelName, version: modelNumber } = request.model;
  const modelVersion = found(
    await deps.repos.models.getVersion(modelName, modelNumber),
    `model ${modelName} version ${modelNumber}`,
  );
  const modelBytes = await deps.blobs.read(modelVersion.sha256);
  const manifest: ManifestInput = {
    schemaVersion: 1,
    name: request.name,
    version: request.version,
    description: request.description,
    model: {
      file: "model.onnx",
      sha256: modelVersion.sha256,
      size: modelVersion.size,
      irVersion: modelVersion.irVersion ?? undefined,
      opset: modelVersion.opsets[""] ?? modelVersion.opsets["ai.onnx"],
    },
    inputs: modelVersion.inputs,
    outputs: modelVersion.outputs,
    preprocessing: request.preprocessing,
    postprocessing: request.postprocessing,
    runtime: request.runtime,
    resources: request.resources,
    ...(request.monitoring ? { monitoring: request.monitoring } : {}),
    source: { model: modelVersion.modelName, modelVersion: modelVersion.version },
    createdAt: new Date().toISOString(),
  };
  const variants: PackVariantInput[] = [];
  if (request.int8) variants.push(await int8Variant(deps, modelVersion));
  for (const variant of request.variants ?? []) {
    const version = found(
      await deps.repos.models.getVersion(variant.model.name, variant.model.version),
      `model ${variant.model.name} version ${variant.model.version} (variant ${variant.name})`,
    );
    variants.push({
      name: variant.name,
      requires: variant.requires,
      runtime: variant.runtime,
      modelBytes: await deps.blobs.read(version.sha256),
    });
  }
  // A warm-up that cannot run fails here, once, naming the field, instead of on every device.
  const probed = await probeWarmup(modelBytes, checkedManifest(manifest), deps.log);
  const packed = await packModule({
    manifest: probed.warmupInputs
      ? { ...manifest, runtime: { ...manifest.runtime, warmupInputs: probed.warmupInputs } }
      : manifest,
    modelBytes,
    privateKeyPem: deps.signing.privateKeyPem,
    ...(variants.length > 0 ? { variants } : {}),
  });
  await deps.blobs.put(packed.tarball, { expectedSha256: packed.sha256 });
  const created = await deps.repos.modules.create({
    name: request.name,
    version: request.version,
    modelVersionId: modelVersion.id,
    manifest: packed.manifest,
    tarballSha256: packed.sha256,
    tarballSize: packed.size,
  });
  deps.log.info({
    event: "module.created",
    module: request.name,
    version: request.version,
    sha256: packed.sha256,
  });
  return created;
}

/** The manifest as the packer will see it, so the probe never runs on a manifest the packer refuses. */
function checkedManifest(manifest: ManifestInput): Manifest {
  try {
    return parseManifest(manifest);
  } catch (error) {
    if (error instanceof z.ZodError) {
      throw new InvalidManifestError(
        error.issues.map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message)),
      );
    }
    throw error;
  }
}

/**
 * Packing a model module: manifest + ONNX file → signed, reproducible tar.gz.
 * The tarball holds exactly `module.json` (the signed bytes), `module.sig` (base64 ed25519 over
 * those bytes), the model file and one model file per variant (manifest `variants`). Unpacking lives in unpack.ts and is re-exported here.
 */
import { z } from "zod";
import { sha256Hex } from "../lib/files.js";
import { batchAxesFromModel } from "./batch-axes.js";
import { InvalidManifestError } from "./errors.js";
import {
  MANIFEST_FILE,
  type Manifest,
  type ManifestInput,
  type ModuleVariant,
  parseManifest,
  SIGNATURE_FILE,
  type VariantRequires,
} from "./manifest.js";
import { checkManifestAgainstModel } from "./model-checks.js";
import { defaultOpset, inspectOnnx, type OnnxInfo } from "./onnx/inspect.js";
import { signBytes } from "./sign.js";
import { writeTarGz } from "./tar-writer.js";

export { readManifestFromTarball, type UnpackOptions, unpackModule } from "./unpack.js";

/**
 * What the packer accepts: a manifest whose model hash, size, versions, tensors and creation time
 * may be left out; the packer derives them from the model bytes (and refuses values that disagree).
 */
export type PackManifestInput = Omit<
  ManifestInput,
  "schemaVersion" | "model" | "inputs" | "outputs" | "createdAt"
> & {
  schemaVersion?: ManifestInput["schemaVersion"];
  model: Omit<ManifestInput["model"], "sha256" | "size"> & { sha256?: string; size?: number };
  inputs?: ManifestInput["inputs"];
  outputs?: ManifestInput["outputs"];
  createdAt?: string;
};

/** A per-profile variant to pack: its ONNX bytes; hash, size and versions are derived from them. */
export interface PackVariantInput {
  name: string;
  requires?: VariantRequires;
  runtime?: ModuleVariant["runtime"];
  modelBytes: Uint8Array;
  /** What this variant costs against the base model on a test split (int8 variants). */
  validation?: ModuleVariant["validation"];
  /** File name inside the module; defaults to `variant-<name>.onnx`. */
  file?: string;
}

export interface PackOptions {
  manifest: PackManifestInput | ManifestInput;
  modelBytes: Uint8Array;
  /** Variants in the order devices try them; they replace any `variants` in the manifest input. */
  variants?: PackVariantInput[];
  /** The hub's ed25519 signing key (PKCS#8 PEM). */
  privateKeyPem: string;
}

export interface PackedModule {
  tarball: Buffer;
  /** sha256 of the tarball, lowercase hex: the blob id and what desired state pins. */
  sha256: string;
  size: number;
  manifest: Manifest;
}

/** The exact bytes that are signed and stored as module.json: pretty JSON, trailing newline. */
export function manifestBytes(manifest: Manifest): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
}

function zodIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) =>
    issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message,
  );
}

/**
 * Validates the manifest against the model, signs it and builds the module tarball.
 * Throws InvalidModelError when the bytes are not a usable ONNX model, InvalidManifestError otherwise.
 */
export async function packModule(options: PackOptions): Promise<PackedModule> {
  const { manifest: input, modelBytes } = options;
  const info = inspectOnnx(modelBytes);
  const derived = {
    sha256: sha256Hex(modelBytes),
    size: modelBytes.byteLength,
    irVersion: info.irVersion,
    opset: defaultOpset(info),
  };
  const issues: string[] = [];
  for (const key of ["sha256", "size", "irVersion", "opset"] as const) {
    const given = input.model?.[key];
    if (given !== undefined && given !== derived[key]) {
      issues.push(`model.${key} is ${given} but the model file has ${derived[key]}`);
    }
  }
  if (issues.length > 0) throw new InvalidManifestError(issues);

  const variantInfos = (options.variants ?? []).map((variant) => {
    let variantInfo: OnnxInfo;
    try {
      variantInfo = inspectOnnx(variant.modelBytes);
    } catch (error) {
      throw new InvalidManifestError([`variant "${variant.name}": ${(error as Error).message}`]);
    }
    return { variant, info: variantInfo };
  });
  const variants = options.variants
    ? variantInfos.map(({ variant, info: variantInfo }) => ({
        name: variant.name,
        requires: variant.requires ?? {},
        ...(variant.runtime ? { runtime: variant.runtime } : {}),
        ...(variant.validation ? { validation: variant.validation } : {}),
        model: {
          file: variant.file ?? `variant-${variant.name}.onnx`,
          sha256: sha256Hex(variant.modelBytes),
          size: variant.modelBytes.byteLength,
          irVersion: variantInfo.irVersion,
          opset: defaultOpset(variantInfo),
        },
      }))
    : input.variants;

  let manifest: Manifest;
  try {
    manifest = parseManifest({
      ...input,
      ...(variants ? { variants } : {}),
      schemaVersion: input.schemaVersion ?? 1,
      model: { ...input.model, ...derived },
      inputs: input.inputs ?? info.inputs,
      outputs: input.outputs ?? info.outputs,
      createdAt: input.createdAt ?? new Date().toISOString(),
    });
  } catch (error) {
    if (error instanceof z.ZodError) throw new InvalidManifestError(zodIssues(error));
    throw error;
  }
  const mismatches = checkManifestAgainstModel(manifest, info);
  // Every variant must fit the same inputs and outputs: the scoring routes do not know which one runs.
  for (const { variant, info: variantInfo } of variantInfos) {
    for (const problem of checkManifestAgainstModel(manifest, variantInfo))
      mismatches.push(`variant "${variant.name}": ${problem}`);
  }
  if (mismatches.length > 0) throw new InvalidManifestError(mismatches);
  // Raw outputs are split per row along each output's batch axis, read from the model's symbols.
  if (manifest.postprocessing.kind === "raw" && manifest.postprocessing.batchAxes === undefined) {
    const batchAxes = batchAxesFromModel(info);
    if (batchAxes !== undefined)
      manifest = { ...manifest, postprocessing: { ...manifest.postprocessing, batchAxes } };
  }
  const variantFiles = (manifest.variants ?? []).map((variant, i) => {
    const bytes = variantInfos[i]?.variant.modelBytes;
    if (!bytes) throw new InvalidManifestError([`variant "${variant.name}" has no model bytes to pack`]);
    return { name: variant.model.file, data: bytes };
  });

  const signed = manifestBytes(manifest);
  const signature = signBytes(signed, options.privateKeyPem);
  const tarball = writeTarGz([
    // module.json first, so a reader can verify the manifest before the (large) model streams past.
    { name: MANIFEST_FILE, data: signed },
    { name: SIGNATURE_FILE, data: new TextEncoder().encode(`${signature}\n`) },
    { name: manifest.model.file, data: modelBytes },
    ...variantFiles,
  ]);
  return { tarball, sha256: sha256Hex(tarball), size: tarball.byteLength, manifest };
}

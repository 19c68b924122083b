/**
 * Preflight: can this device run this module? Pure: a device's facts and a module in, ok or the
 * reasons out. The deployment service skips (never half-deploys) a device that fails.
 *
 * Checks, on the model file the device would really load (modules/select-variant.ts):
 * - disk: the tarball (downloaded whole, every variant inside) plus the unpacked model files must
 *   fit the profile's disk budget, or the module's declared `resources.diskMb` when larger;
 * - memory: estimated as model bytes × MEMORY_FACTOR + RUNTIME_OVERHEAD_MB (below), or the
 *   module's declared `resources.memoryMb` when larger, against the memory budget;
 * - opset and IR version: against what the device's onnxruntime implements (ort-opsets.ts);
 * - execution providers: each one the session asks for must be available on the device;
 * - accuracy: a variant validated against the base model (an int8 file from `models quantize`)
 *   may lose at most `maxVariantLoss` (default 1 % relative) of its metric on the test split; an
 *   int8 variant without a validation is a warning.
 * Facts nobody knows (a device that never connected, a device without a profile) produce
 * warnings, not refusals: the device is not known to be incompatible.
 */
import type { FirmwareProfile } from "../../firmware-profiles/schema.js";
import { type Manifest, modelFiles } from "../../modules/manifest.js";
import { availableProviders, memoryBudgetMb, selectVariant } from "../../modules/select-variant.js";
import type { Capabilities } from "../../wire/messages.js";
import { MIN_OPSET, ortLimits } from "./ort-opsets.js";

/**
 * Memory estimate, a deliberate over-estimate rather than a measurement: onnxruntime keeps the
 * initializers (≈ the file size) and, while creating the session, also holds the parsed protobuf
 * and optimizer copies of folded constants, so peak resident memory of a CPU session is taken as
 * twice the file. The overhead covers the session's arena, thread pool and the warm-up run's
 * activations for the small models devices run; big activations need `resources.memoryMb`.
 * The previous version stays loaded during a swap, which the profile's budget must leave room for.
 */
export const MEMORY_FACTOR = 2;
export const RUNTIME_OVERHEAD_MB = 32;

const MIB = 1024 * 1024;

/** What the hub knows about one device. */
export interface PreflightDevice {
  id: string;
  /** The declared profile id, even when it names no known profile. */
  profileId: string | null;
  profile: FirmwareProfile | null;
  capabilities: Capabilities | null;
}

/** The module version being deployed. */
export interface PreflightModule {
  manifest: Manifest;
  tarballSize: number;
  /**
   * Largest relative metric loss a validated variant (an int8 file made by `models quantize`) may
   * have against the base model and still be deployed; default DEFAULT_MAX_VARIANT_LOSS.
   */
  maxVariantLoss?: number;
}

/** The operator's default threshold for a variant's metric loss: 1 % relative. */
export const DEFAULT_MAX_VARIANT_LOSS = 0.01;

/** What the chosen variant trades against the base model, as validated on a test split. */
export interface VariantTrade {
  variant: string;
  metric: string;
  reference: number;
  value: number;
  relativeLoss: number;
  testRows: number;
  /** Model file bytes: the variant's and the base model's. */
  size: number;
  baseSize: number;
  maxLoss: number;
}

export interface PreflightResult {
  ok: boolean;
  /** Why the device cannot run the module; empty when ok. */
  reasons: string[];
  /** Checks that could not be made (unknown facts). */
  warnings: string[];
  /** The variant the device would load, or null for the base model. */
  variant: string | null;
  /** Set when the chosen variant carries a validation (an int8 file): what it costs. */
  trade?: VariantTrade;
  estimate: { memoryMb: number; diskMb: number };
}

const percent = (fraction: number) => `${(fraction * 100).toFixed(2)} %`;

/** The accuracy rule for the chosen variant: refused past the threshold, warned when unvalidated int8. */
function variantQuality(
  choice: ReturnType<typeof selectVariant>,
  manifest: Manifest,
  maxLoss: number,
  reasons: string[],
  warnings: string[],
): VariantTrade | undefined {
  const variant = choice.variant;
  if (!variant) return undefined;
  const validation = variant.validation;
  if (!validation) {
    if (variant.requires.precision?.includes("int8"))
      warnings.push(
        `variant "${variant.name}" is for int8 profiles but carries no validation against the base model (package it with int8 from \`models quantize\` to have one)`,
      );
    return undefined;
  }
  const trade: VariantTrade = {
    variant: variant.name,
    metric: validation.metric,
    reference: validation.reference,
    value: validation.value,
    relativeLoss: validation.relativeLoss,
    testRows: validation.testRows,
    size: variant.model.size,
    baseSize: manifest.model.size,
    maxLoss,
  };
  if (!(validation.relativeLoss <= maxLoss))
    reasons.push(
      `variant "${variant.name}": ${validation.metric} ${validation.reference.toPrecision(4)} → ${validation.value.toPrecision(4)} on ${validation.testRows} test rows is ${percent(validation.relativeLoss)} worse than the base model, over the ${percent(maxLoss)} threshold`,
    );
  return trade;
}

/** Estimated resident memory (MiB) of a session for a model file of `bytes`. */
export function estimateMemoryMb(bytes: number): number {
  return Math.ceil((bytes * MEMORY_FACTOR) / MIB + RUNTIME_OVERHEAD_MB);
}

/** Checks one device against one module version. */
export function preflight(device: PreflightDevice, module: PreflightModule): PreflightResult {
  const { manifest } = module;
  const facts = { profile: device.profile, capabilities: device.capabilities };
  const reasons: string[] = [];
  const warnings: string[] = [];
  if (device.profileId && !device.profile)
    warnings.push(`profile "${device.profileId}" is not a known profile`);
  if (!device.profile && !device.capabilities)
    warnings.push("no profile and no reported capabilities: nothing to check against");

  const choice = selectVariant(manifest, device.profile, device.capabilities);
  const model = choice.model;
  const variant = choice.variant ? `variant "${choice.variant.name}"` : "model";

  const unpacked = modelFiles(manifest).reduce((sum, file) => sum + file.size, 0);
  const diskMb = Math.max(Math.ceil((module.tarballSize + unpacked) / MIB), manifest.resources.diskMb ?? 0);
  if (device.profile) {
    if (diskMb > device.profile.diskMb)
      reasons.push(
        `disk: needs ${diskMb} MiB (tarball and unpacked files), budget is ${device.profile.diskMb} MiB`,
      );
  } else warnings.push("disk: no profile, so no disk budget to check against");

  const memoryMb = Math.max(estimateMemoryMb(model.size), manifest.resources.memoryMb ?? 0);
  const budget = memoryBudgetMb(facts);
  if (budget === null) warnings.push("memory: budget unknown");
  else if (memoryMb > budget)
    reasons.push(`memory: ${variant} needs about ${memoryMb} MiB, budget is ${budget} MiB`);

  const ortVersion = device.capabilities?.onnxruntimeVersion;
  const limits = ortVersion ? ortLimits(ortVersion) : null;
  if (!limits) warnings.push(`opset: onnxruntime version ${ortVersion ?? "unknown"}, not checked`);
  else {
    if (model.opset !== undefined && model.opset > limits.maxOpset)
      reasons.push(
        `opset: ${variant} uses opset ${model.opset}, onnxruntime ${ortVersion} supports up to ${limits.maxOpset}`,
      );
    if (model.opset !== undefined && model.opset < MIN_OPSET)
      reasons.push(
        `opset: ${variant} uses opset ${model.opset}, below ${MIN_OPSET}, which no onnxruntime runs`,
      );
    if (model.irVersion !== undefined && model.irVersion > limits.maxIrVersion)
      reasons.push(
        `IR version: ${variant} is IR ${model.irVersion}, onnxruntime ${ortVersion} loads up to ${limits.maxIrVersion}`,
      );
  }

  const available = availableProviders(facts);
  if (available === null) warnings.push("execution providers: unknown");
  else {
    const missing = choice.runtime.executionProviders.filter((ep) => !available.includes(ep));
    if (missing.length > 0)
      reasons.push(
        `execution providers: ${variant} asks for ${missing.join(", ")}, device has ${available.join(", ") || "none"}`,
      );
  }

  const trade = variantQuality(
    choice,
    manifest,
    module.maxVariantLoss ?? DEFAULT_MAX_VARIANT_LOSS,
    reasons,
    warnings,
  );

  return {
    ok: reasons.length === 0,
    reasons,
    warnings,
    variant: choice.variant?.name ?? null,
    ...(trade ? { trade } : {}),
    estimate: { memoryMb, diskMb },
  };
}

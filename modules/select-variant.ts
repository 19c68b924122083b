/**
 * Which model file of a module a device runs: the first variant whose `requires` the device
 * satisfies, else the base `model`. Pure (no I/O): the agent calls it when loading and the hub's
 * preflight calls it to check the file that device would really load.
 *
 * Device facts combine the declared firmware profile and the agent's detected capabilities:
 * arch comes from the capabilities (the truth) or the profile; execution providers are the
 * intersection when both are known, because onnxruntime-node lists CUDA and TensorRT on any
 * linux/x64 host whether or not their libraries exist; the memory budget and precision come from
 * the profile (a budget is a policy, not a measurement), memory falling back to detected RAM.
 * A fact nobody knows never satisfies a requirement.
 */
import type { FirmwareProfile } from "../firmware-profiles/schema.js";
import type { Capabilities } from "../wire/messages.js";
import type { Manifest, ModuleVariant, RuntimeOptions, VariantRequires } from "./manifest.js";

export type ModelFile = Manifest["model"];

/** What is known about the device a module is chosen for. */
export interface DeviceFacts {
  profile: FirmwareProfile | null;
  capabilities: Capabilities | null;
}

export interface VariantChoice {
  /** The chosen variant, or null for the base model. */
  variant: ModuleVariant | null;
  model: ModelFile;
  runtime: RuntimeOptions;
  /** Variants tried before the choice, with why each did not fit. */
  passedOver: { name: string; reasons: string[] }[];
}

/** Execution providers a device has, per the rule in the header; null when nothing is known. */
export function availableProviders(facts: DeviceFacts): string[] | null {
  const detected = facts.capabilities?.executionProviders;
  const declared = facts.profile?.executionProviders;
  if (detected && declared) return declared.filter((ep) => detected.includes(ep));
  return detected ?? (declared ? [...declared] : null);
}

/** The device's memory budget for models (MiB), or null when unknown. */
export function memoryBudgetMb(facts: DeviceFacts): number | null {
  return facts.profile?.memoryMb ?? facts.capabilities?.memoryMb ?? null;
}

/** Reasons the device does not satisfy `requires`; empty when it does. */
export function unmetRequirements(requires: VariantRequires, facts: DeviceFacts): string[] {
  const reasons: string[] = [];
  const profileId = facts.profile?.id;
  if (requires.profiles && !(profileId && requires.profiles.includes(profileId))) {
    reasons.push(`profile ${profileId ?? "unknown"} is not one of ${requires.profiles.join(", ")}`);
  }
  const arch = facts.capabilities?.arch ?? facts.profile?.arch;
  if (requires.arch && !(arch && requires.arch.includes(arch))) {
    reasons.push(`arch ${arch ?? "unknown"} is not one of ${requires.arch.join(", ")}`);
  }
  if (requires.executionProviders) {
    const available = availableProviders(facts);
    const missing = requires.executionProviders.filter((ep) => !available?.includes(ep));
    if (missing.length > 0)
      reasons.push(
        `execution providers ${missing.join(", ")} not available (${available?.join(", ") ?? "unknown"})`,
      );
  }
  if (requires.minMemoryMb !== undefined) {
    const memory = memoryBudgetMb(facts);
    if (memory === null || memory < requires.minMemoryMb)
      reasons.push(`memory budget ${memory ?? "unknown"} MiB is below ${requires.minMemoryMb} MiB`);
  }
  const precision = facts.profile?.preferredPrecision;
  if (requires.precision && !(precision && requires.precision.includes(precision))) {
    reasons.push(`precision ${precision ?? "unknown"} is not one of ${requires.precision.join(", ")}`);
  }
  return reasons;
}

/** The first variant the device satisfies, else the base model. */
export function selectVariant(
  manifest: Manifest,
  profile: FirmwareProfile | null,
  capabilities: Capabilities | null,
): VariantChoice {
  const facts = { profile, capabilities };
  const passedOver: VariantChoice["passedOver"] = [];
  for (const variant of manifest.variants ?? []) {
    const reasons = unmetRequirements(variant.requires, facts);
    if (reasons.length === 0) {
      return {
        variant,
        model: variant.model,
        runtime: { ...manifest.runtime, ...variant.runtime },
        passedOver,
      };
    }
    passedOver.push({ name: variant.name, reasons });
  }
  return { variant: null, model: manifest.model, runtime: manifest.runtime, passedOver };
}

/** The manifest as the device runs it: `model` and `runtime` replaced by the chosen variant's. */
export function manifestForDevice(manifest: Manifest, choice: VariantChoice): Manifest {
  return choice.variant === null ? manifest : { ...manifest, model: choice.model, runtime: choice.runtime };
}

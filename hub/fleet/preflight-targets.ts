/**
 * Preflight over a deployment's targets: loads each device's profile and reported capabilities and
 * splits the targets into eligible and skipped (with reasons). The deployment service and the
 * rollout controller call this before setting any desired state, so an incompatible device is
 * skipped as a whole, never half-deployed.
 */
import { findProfile } from "../../firmware-profiles/index.js";
import type { Device, ModuleRecord, Repositories } from "../repos/index.js";
import { type PreflightResult, preflight } from "./preflight.js";

export interface SkippedDevice {
  deviceId: string;
  reasons: string[];
}

export interface PreflightTargets {
  /** Device ids that pass, in the order given. */
  eligible: string[];
  skipped: SkippedDevice[];
  /** Every checked device's full result (variant, estimate, warnings), by id. */
  results: Record<string, PreflightResult>;
}

/** The preflight input for a stored device. */
export function preflightDevice(device: Device) {
  return {
    id: device.id,
    profileId: device.profile,
    profile: findProfile(device.profile),
    capabilities: device.capabilities ?? null,
  };
}

/** Runs preflight for one module version over the given devices; unknown ids are skipped. */
export async function preflightTargets(
  deps: { repos: Pick<Repositories, "devices"> },
  deviceIds: readonly string[],
  moduleRecord: Pick<ModuleRecord, "manifest" | "tarballSize">,
  options: { maxVariantLoss?: number } = {},
): Promise<PreflightTargets> {
  const devices = new Map((await deps.repos.devices.list({ ids: [...deviceIds] })).map((d) => [d.id, d]));
  const eligible: string[] = [];
  const skipped: SkippedDevice[] = [];
  const results: Record<string, PreflightResult> = {};
  for (const id of deviceIds) {
    const device = devices.get(id);
    if (!device) {
      skipped.push({ deviceId: id, reasons: ["device not found"] });
      continue;
    }
    const result = preflight(preflightDevice(device), {
      manifest: moduleRecord.manifest,
      tarballSize: moduleRecord.tarballSize,
      ...(options.maxVariantLoss !== undefined ? { maxVariantLoss: options.maxVariantLoss } : {}),
    });
    results[id] = result;
    if (result.ok) eligible.push(id);
    else skipped.push({ deviceId: id, reasons: result.reasons });
  }
  return { eligible, skipped, results };
}

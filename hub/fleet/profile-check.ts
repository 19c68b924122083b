/**
 * Does a device match the firmware profile it was provisioned with? Compares what its agent
 * detected (arch, OS, memory, cores, execution providers) with what the profile declares.
 * Computed when a device is read, from stored columns: no schema change, always current.
 */
import { findProfile } from "../../firmware-profiles/index.js";
import type { Capabilities } from "../../wire/messages.js";

export interface ProfileCheck {
  ok: boolean;
  problems: string[];
  /** Why nothing could be compared, when that is the case. */
  note?: string;
}

/** Checks detected capabilities against the declared profile (and the profile the agent says it runs). */
export function checkProfile(device: {
  profile: string | null;
  capabilities: Capabilities | null;
  /** The profile id the agent's own status names, if any. */
  agentProfile?: string | null;
}): ProfileCheck {
  if (!device.profile) return { ok: true, problems: [], note: "no profile declared" };
  const profile = findProfile(device.profile);
  if (!profile) return { ok: false, problems: [`profile "${device.profile}" is not a known profile`] };
  const problems: string[] = [];
  if (device.agentProfile && device.agentProfile !== profile.id)
    problems.push(`the agent runs with profile "${device.agentProfile}", the hub has "${profile.id}"`);
  const caps = device.capabilities;
  if (!caps)
    return { ok: problems.length === 0, problems, note: "the agent has not reported capabilities yet" };
  if (caps.arch !== profile.arch) problems.push(`arch: detected ${caps.arch}, profile says ${profile.arch}`);
  if (caps.platform !== profile.os)
    problems.push(`os: detected ${caps.platform}, profile says ${profile.os}`);
  if (caps.memoryMb < profile.memoryMb)
    problems.push(
      `memory: detected ${caps.memoryMb} MiB in total, less than the profile's ${profile.memoryMb} MiB model budget`,
    );
  if (caps.cpus < profile.threads)
    problems.push(`cores: detected ${caps.cpus}, profile asks for ${profile.threads} threads`);
  const missing = profile.executionProviders.filter((ep) => !caps.executionProviders.includes(ep));
  if (missing.length > 0)
    problems.push(
      `execution providers: profile declares ${missing.join(", ")}, not detected (${caps.executionProviders.join(", ")})`,
    );
  return { ok: problems.length === 0, problems };
}

/**
 * Where each released device stands with a deployment's version, and whether a wave may be judged
 * yet. A wave's gates are judged only once every released device has settled (active, failed,
 * rolled back, or won by another deployment) or the wave's activation deadline has passed: judging
 * earlier counts devices that have not reported yet as healthy, which is how a rollout whose only
 * device failed its warm-up used to say "completed". Pure.
 */
import type { RolloutGates } from "../db/schema/deployments.js";

/** What the hub knows of one released device, for one deployment. */
export interface ReleasedDevice {
  deviceId: string;
  online: boolean;
  /** Whether the device's stored desired state holds this deployment's version (false: another deployment won). */
  desired: boolean;
  /** The device's reported entry for the module, if any. */
  reported?: { version: string; state: string; error?: string } | undefined;
}

/**
 * active / failed (failed or rolled-back reported for this version) / overridden (another
 * deployment supplies the module) are settled; in-progress (reported nothing for this version yet,
 * or a step before active) is not; timed-out is in-progress past the deadline (counts as failed);
 * offline is in-progress on a device that is offline.
 */
export type DeviceVerdict = "active" | "failed" | "overridden" | "in-progress" | "timed-out" | "offline";

/** One device's verdict, with the reason a person can act on. */
export interface DeviceStanding {
  deviceId: string;
  verdict: DeviceVerdict;
  /** The reported state for this version, when there is one. */
  state?: string;
  reason?: string;
}

/** The activation rule of a deployment (defaults for rows stored before it existed). */
export interface ActivationRule {
  activationTimeoutMs: number;
  onOffline: "exclude" | "fail";
}

/** Activation defaults: 10 minutes to activate; offline devices are left out of the judgement. */
export const ACTIVATION_DEFAULTS: ActivationRule = {
  /** A released, online device that has not settled this long after its wave was out counts as failed (ms). */
  activationTimeoutMs: 10 * 60_000,
  /** "exclude": an offline device does not hold up a wave and is not counted; "fail": it must settle by the deadline too. */
  onOffline: "exclude",
};

/** The rule a deployment's gates give, with defaults for what older rows lack. */
export function activationRule(gates: Partial<RolloutGates>): ActivationRule {
  return {
    activationTimeoutMs: gates.activationTimeoutMs ?? ACTIVATION_DEFAULTS.activationTimeoutMs,
    onOffline: gates.onOffline ?? ACTIVATION_DEFAULTS.onOffline,
  };
}

/** One device's standing at time `now` against the wave's deadline. */
export function standing(
  device: ReleasedDevice,
  version: string,
  rule: ActivationRule,
  pastDeadline: boolean,
): DeviceStanding {
  const { deviceId, reported } = device;
  if (!device.desired)
    return { deviceId, verdict: "overridden", reason: "another deployment supplies the module" };
  if (reported?.version === version) {
    if (reported.state === "active") return { deviceId, verdict: "active", state: "active" };
    if (reported.state === "failed" || reported.state === "rolled-back")
      return {
        deviceId,
        verdict: "failed",
        state: reported.state,
        reason: reported.error ?? `reported ${reported.state}`,
      };
  }
  const state = reported?.version === version ? reported.state : undefined;
  const where = state ? `still ${state}` : "no report for this version";
  if (!device.online && rule.onOffline === "exclude")
    return { deviceId, verdict: "offline", ...(state ? { state } : {}), reason: `offline (${where})` };
  if (pastDeadline)
    return {
      deviceId,
      verdict: "timed-out",
      ...(state ? { state } : {}),
      reason: `not active within the activation deadline of ${formatMs(rule.activationTimeoutMs)} (${device.online ? "" : "offline, "}${where})`,
    };
  return { deviceId, verdict: "in-progress", ...(state ? { state } : {}), reason: where };
}

/** Whether a wave can be judged, and the device counts the failures gate takes. */
export interface Settlement {
  /** Every released device settled, timed out or (excluded) offline, and at least one judged. */
  ready: boolean;
  /** Devices the failures gate divides by: released minus overridden and excluded offline devices. */
  judged: number;
  /** Failed plus timed-out devices. */
  failed: number;
  /** Every released device's standing, in release order. */
  devices: DeviceStanding[];
  /** Why the wave is not ready yet, for gate results and logs. */
  waitingFor?: string;
}

/** Settles the released devices of a wave whose deadline is `deadline`. */
export function settle(
  released: readonly ReleasedDevice[],
  version: string,
  rule: ActivationRule,
  now: Date,
  deadline: Date,
): Settlement {
  const pastDeadline = now.getTime() >= deadline.getTime();
  const devices = released.map((d) => standing(d, version, rule, pastDeadline));
  const count = (v: DeviceVerdict) => devices.filter((d) => d.verdict === v).length;
  const inProgress = count("in-progress");
  const offline = count("offline");
  const failed = count("failed") + count("timed-out");
  const judged = count("active") + failed;
  if (inProgress > 0)
    return {
      ready: false,
      judged,
      failed,
      devices,
      waitingFor: `${inProgress} released device(s) have not reported active or failed yet (deadline ${deadline.toISOString()})`,
    };
  if (judged === 0 && offline > 0)
    return {
      ready: false,
      judged,
      failed,
      devices,
      waitingFor: `every released device that would count is offline (${offline}); the wave waits for one to report`,
    };
  return { ready: true, judged, failed, devices };
}

/** Milliseconds as the shortest readable unit (90000 → "1.5 min"). */
export function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0 && ms >= 3_600_000) return `${ms / 3_600_000} h`;
  if (ms >= 60_000) return `${Number((ms / 60_000).toFixed(1))} min`;
  if (ms >= 1_000) return `${Number((ms / 1_000).toFixed(1))} s`;
  return `${ms} ms`;
}

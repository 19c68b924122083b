/**
 * How simulated agents behave: failure injection knobs, global or per module version, changed at
 * run time with setBehaviour. Pure data plus the draw functions that turn it into outcomes.
 */

export interface Behaviour {
  /** Probability (0..1) that activating a module version fails after loading. */
  failureRate: number;
  /** Inference latency the agent reports in telemetry (ms, the histogram's centre). */
  latencyMs: number;
  /** Fraction (0..1) of requests in a telemetry window that count as errors. */
  errorRate: number;
  /** Added to the probability of the second label in the prediction outputs (0 = baseline 0.3). */
  predictionShift: number;
  /** Requests each active module reports per telemetry window. */
  requestsPerWindow: number;
  /** Telemetry window length (ms); 0 turns telemetry off. */
  telemetryIntervalMs: number;
  /** Pause between reported states (downloading → verifying → loading → active), ms. */
  stepDelayMs: number;
  /** Drop the connection (as a power cut: no DISCONNECT, the will fires) every this many seconds; 0 never. */
  offlineEverySec: number;
  /** How long an outage lasts (s). */
  offlineForSec: number;
  /** HEAD the module's blob URL before "verifying", as a cheap stand-in for the download. */
  headBlob: boolean;
}

export const DEFAULT_BEHAVIOUR: Behaviour = {
  failureRate: 0,
  latencyMs: 5,
  errorRate: 0,
  predictionShift: 0,
  requestsPerWindow: 100,
  telemetryIntervalMs: 10_000,
  stepDelayMs: 0,
  offlineEverySec: 0,
  offlineForSec: 5,
  headBlob: false,
};

/** Overrides for particular module versions ("name@version" or "version"). */
export type VersionBehaviour = Record<string, Partial<Behaviour>>;

/**
 * A global behaviour plus overrides for particular module versions, and per device (by id) on top:
 * "exactly this one device fails to activate 2.0.0" is `devices: { "sim-0007": { versions: { "2.0.0": { failureRate: 1 } } } }`.
 */
export interface FleetBehaviour extends Behaviour {
  versions: VersionBehaviour;
  devices?: Record<string, Partial<Behaviour> & { versions?: VersionBehaviour }>;
}

/** The behaviour that applies to one module version (on one device, when given). */
export function behaviourFor(
  fleet: FleetBehaviour,
  module: string,
  version: string,
  deviceId?: string,
): Behaviour {
  const { versions: deviceVersions = {}, ...device } = (deviceId && fleet.devices?.[deviceId]) || {};
  return {
    ...fleet,
    ...fleet.versions[version],
    ...fleet.versions[`${module}@${version}`],
    ...device,
    ...deviceVersions[version],
    ...deviceVersions[`${module}@${version}`],
  };
}

/** Validates a behaviour patch: rates in 0..1, durations and counts non-negative. */
export function checkBehaviour(patch: Partial<Behaviour>): void {
  for (const key of ["failureRate", "errorRate"] as const) {
    const value = patch[key];
    if (value !== undefined && !(value >= 0 && value <= 1)) throw new Error(`${key} must be between 0 and 1`);
  }
  for (const key of [
    "latencyMs",
    "requestsPerWindow",
    "telemetryIntervalMs",
    "stepDelayMs",
    "offlineEverySec",
    "offlineForSec",
  ] as const) {
    const value = patch[key];
    if (value !== undefined && !(Number.isFinite(value) && value >= 0))
      throw new Error(`${key} must be >= 0`);
  }
  if (patch.predictionShift !== undefined && !(Math.abs(patch.predictionShift) <= 1))
    throw new Error("predictionShift must be between -1 and 1");
}

/**
 * What a schema cannot say about device data: invariants a telemetry window or an event must hold
 * before it is stored, where it feeds rollout gates, drift monitors and the operator's timeline.
 * A window with more errors than requests, a latency sum of 1e308 or an end before its start was
 * stored as sent and skewed every gate that read it. Pure: the caller passes the hub's clock.
 */
import type { DeviceEvent, ModuleWindow, TelemetryWindow } from "../../wire/messages.js";

/** Refusal reasons, a closed set (they label metrics and count per device). */
export const REFUSAL_REASONS = ["schema", "unstorable", "invariant", "too-large", "quota"] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export interface Refusal {
  reason: RefusalReason;
  /** What exactly was wrong, for the log line and the device's last refusal. */
  detail: string;
}

/** Limits the checks apply; every one is far beyond what an agent sends. */
export const DEVICE_DATA_LIMITS = {
  /** A window may end at most this far after the hub's clock (ms): device clocks drift, not by a day. */
  futureSkewMs: 24 * 60 * 60 * 1000,
  /** Longest window (ms); agents send one every few seconds to minutes. */
  maxWindowMs: 7 * 24 * 60 * 60 * 1000,
  /** Mean latency per request no window may exceed (ms): an hour per scored row is no measurement. */
  maxMeanLatencyMs: 60 * 60 * 1000,
  /** Modules in one window, inputs or outputs per module, latency buckets. */
  maxModules: 64,
  maxFeatures: 4096,
  maxBuckets: 256,
  /** Characters of any one string (names, versions, event messages). */
  maxStringChars: 4096,
  /** Characters of an event's details as JSON. */
  maxDetailsChars: 16_384,
} as const;

const invariant = (detail: string): Refusal => ({ reason: "invariant", detail });
const tooLarge = (detail: string): Refusal => ({ reason: "too-large", detail });

/** Why a telemetry window must not be stored, or undefined when it may. */
export function checkTelemetryWindow(window: TelemetryWindow, now: Date): Refusal | undefined {
  const start = Date.parse(window.windowStart);
  const end = Date.parse(window.windowEnd);
  if (!(start <= end)) return invariant("windowStart is after windowEnd");
  if (end - start > DEVICE_DATA_LIMITS.maxWindowMs) return invariant("the window is longer than 7 days");
  if (end > now.getTime() + DEVICE_DATA_LIMITS.futureSkewMs)
    return invariant("windowEnd is more than a day ahead of the hub's clock");
  if (window.modules.length > DEVICE_DATA_LIMITS.maxModules)
    return tooLarge(`more than ${DEVICE_DATA_LIMITS.maxModules} modules in one window`);
  for (const [i, module] of window.modules.entries()) {
    const refusal = checkModuleWindow(module);
    if (refusal) return { ...refusal, detail: `modules[${i}]: ${refusal.detail}` };
  }
  return undefined;
}

function checkModuleWindow(module: ModuleWindow): Refusal | undefined {
  const { maxFeatures, maxBuckets, maxStringChars, maxMeanLatencyMs } = DEVICE_DATA_LIMITS;
  if (module.name.length > maxStringChars || module.version.length > maxStringChars)
    return tooLarge("name or version is too long");
  if (module.inputs.length > maxFeatures || (module.outputs?.length ?? 0) > maxFeatures)
    return tooLarge(`more than ${maxFeatures} inputs or outputs`);
  if (module.latencyBucketsMs.length > maxBuckets || module.latencyCounts.length > maxBuckets + 1)
    return tooLarge(`more than ${maxBuckets} latency buckets`);
  const numbers = [
    module.latencySumMs,
    ...module.latencyBucketsMs,
    ...module.inputs.flatMap((i) => [i.sum, i.sumSquares, i.min ?? 0, i.max ?? 0]),
  ];
  if (!numbers.every(Number.isFinite)) return invariant("a number is not finite");
  if (module.errors > module.requests) return invariant("more errors than requests");
  if ((module.correct ?? 0) > (module.labelled ?? 0))
    return invariant("more correct rows than labelled ones");
  const counted = module.latencyCounts.reduce((sum, n) => sum + n, 0);
  if (counted > module.requests) return invariant("latency counts add up to more than the requests");
  if (
    module.requests === 0 ? module.latencySumMs > 0 : module.latencySumMs / module.requests > maxMeanLatencyMs
  )
    return invariant("latencySumMs is out of proportion to the requests");
  // Input counts are rows, and one request may score many, so they are not bounded by requests.
  for (const input of module.inputs) {
    if (input.sumSquares < 0)
      return invariant(`input ${JSON.stringify(input.name)} has a negative sum of squares`);
    if (input.min !== null && input.max !== null && input.min > input.max)
      return invariant(`input ${JSON.stringify(input.name)} has min above max`);
  }
  return undefined;
}

/** Why a device event must not be stored, or undefined when it may. */
export function checkDeviceEvent(event: DeviceEvent, now: Date): Refusal | undefined {
  const { maxStringChars, maxDetailsChars, futureSkewMs } = DEVICE_DATA_LIMITS;
  const strings = [event.kind, event.module ?? "", event.version ?? "", event.message];
  if (strings.some((text) => text.length > maxStringChars))
    return tooLarge(`a string is longer than ${maxStringChars} characters`);
  if (event.details && JSON.stringify(event.details).length > maxDetailsChars)
    return tooLarge(`details are longer than ${maxDetailsChars} characters as JSON`);
  if (Date.parse(event.at) > now.getTime() + futureSkewMs)
    return invariant("the event time is more than a day ahead of the hub's clock");
  return undefined;
}

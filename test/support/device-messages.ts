/** Fixtures for hub tests: valid wire messages and handlers that record what they get. */
import type { DeviceMessageHandlers } from "../../hub/mqtt/hub-link.js";
import {
  type DesiredState,
  type DeviceEvent,
  LATENCY_BUCKETS_MS,
  type ReportedState,
  type Status,
  type TelemetryWindow,
} from "../../wire/messages.js";

export const AT = "2025-01-01T00:00:00.000Z";

export const status = (online: boolean): Status => ({ protocol: 1, online, agentVersion: "0.1.0", at: AT });
export const reported: ReportedState = { protocol: 1, revision: 3, modules: [], at: AT };
export const window = (seq: number): TelemetryWindow => ({
  protocol: 1,
  seq,
  windowStart: AT,
  windowEnd: AT,
  modules: [],
});
/** A window with one module's `requests` requests (no errors, all in the slowest latency bucket). */
export function moduleWindow(
  seq: number,
  module: { name: string; version: string },
  requests: number,
  at = AT,
): TelemetryWindow {
  return {
    protocol: 1,
    seq,
    windowStart: at,
    windowEnd: at,
    modules: [
      {
        ...module,
        requests,
        errors: 0,
        latencyBucketsMs: [...LATENCY_BUCKETS_MS],
        latencyCounts: LATENCY_BUCKETS_MS.map(() => 0).concat([requests]),
        latencySumMs: requests,
        inputs: [],
      },
    ],
  };
}
export const event: DeviceEvent = { protocol: 1, at: AT, kind: "module.activated", message: "ok" };
export const desired = (revision: number): DesiredState => ({
  protocol: 1,
  revision,
  issuedAt: AT,
  modules: [],
});

export type Call = { kind: string; deviceId: string; value: unknown };

/** Handlers that record every call; `telemetryHook` lets a test hold a handler open. */
export function recordingHandlers(
  telemetryHook?: (deviceId: string, window: TelemetryWindow) => Promise<void>,
) {
  const calls: Call[] = [];
  const listeners: (() => void)[] = [];
  const record = (kind: string, deviceId: string, value: unknown) => {
    calls.push({ kind, deviceId, value });
    for (const listener of [...listeners]) listener();
  };
  const handlers: DeviceMessageHandlers = {
    onStatus: async (deviceId, value) => record("status", deviceId, value),
    onReported: async (deviceId, value) => record("reported", deviceId, value),
    onTelemetry: async (deviceId, value) => {
      await telemetryHook?.(deviceId, value);
      record("telemetry", deviceId, value);
    },
    onEvent: async (deviceId, value) => record("event", deviceId, value),
    onResponse: async (deviceId, requestId, value) => record("response", deviceId, { requestId, value }),
  };
  /** Resolves once `count` calls match. */
  const until = (matches: (call: Call) => boolean, count = 1) =>
    new Promise<Call[]>((resolve) => {
      const check = () => {
        const found = calls.filter(matches);
        if (found.length < count) return;
        listeners.splice(listeners.indexOf(check), 1);
        resolve(found);
      };
      listeners.push(check);
      check();
    });
  return { handlers, calls, until };
}

/** A promise with its resolve function outside. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

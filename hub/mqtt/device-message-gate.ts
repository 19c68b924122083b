/**
 * The checks a parsed device message passes before its handler stores it: its device's quota for
 * the kind, then the data invariants (device-data-checks.ts). Every refusal, these and the ones the
 * router makes (schema, unstorable text), is counted per device by reason (device-refusals.ts).
 */
import type { DeviceEvent, TelemetryWindow } from "../../wire/messages.js";
import { checkDeviceEvent, checkTelemetryWindow, type Refusal } from "./device-data-checks.js";
import { DeviceQuota } from "./device-quota.js";
import { DeviceRefusals } from "./device-refusals.js";

/** What routeMessage asks before it hands a message to its handler. */
export interface MessageGate {
  /** Why this schema-valid message must not be stored (already counted), or undefined. */
  admit(deviceId: string, kind: string, value: unknown): Refusal | undefined;
  /** Counts a refusal the router made itself. */
  refused(deviceId: string, kind: string, refusal: Refusal): void;
}

export interface DeviceMessageGateOptions {
  /** Events per minute per device (token bucket, a minute's worth as burst). */
  eventsPerMinute: number;
  refusals?: DeviceRefusals;
  /** The hub's clock, for the quota and the "not in the future" checks. */
  now?: () => Date;
}

/** Quota, invariants and refusal counts for device messages. */
export class DeviceMessageGate implements MessageGate {
  readonly refusals: DeviceRefusals;
  readonly #quota: DeviceQuota;
  readonly #now: () => Date;

  constructor(options: DeviceMessageGateOptions) {
    this.refusals = options.refusals ?? new DeviceRefusals();
    this.#now = options.now ?? (() => new Date());
    this.#quota = new DeviceQuota({
      perMinute: { events: options.eventsPerMinute },
      now: () => this.#now().getTime(),
    });
  }

  admit(deviceId: string, kind: string, value: unknown): Refusal | undefined {
    const refusal = this.#check(deviceId, kind, value);
    if (refusal) this.refused(deviceId, kind, refusal);
    return refusal;
  }

  refused(deviceId: string, kind: string, refusal: Refusal): void {
    this.refusals.record(deviceId, kind, refusal.reason, refusal.detail, this.#now());
  }

  #check(deviceId: string, kind: string, value: unknown): Refusal | undefined {
    if (!this.#quota.take(deviceId, kind))
      return { reason: "quota", detail: `more than the device's ${kind} quota per minute` };
    if (kind === "telemetry") return checkTelemetryWindow(value as TelemetryWindow, this.#now());
    if (kind === "events") return checkDeviceEvent(value as DeviceEvent, this.#now());
    return undefined;
  }
}

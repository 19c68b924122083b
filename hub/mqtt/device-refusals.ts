/**
 * Device messages the hub refused, counted per device by reason, so an operator sees which device
 * sends what the hub will not store (`GET /api/v1/devices/{id}` → `refusals`) and the fleet totals
 * by kind and reason (`/metrics`). Kept in memory since the hub started: refusals come in floods,
 * and a database write per refused message would hand a flooding device the database.
 */
import type { RefusalReason } from "./device-data-checks.js";

export interface DeviceRefusalCounts {
  /** Refused messages since the hub started. */
  total: number;
  byReason: Partial<Record<RefusalReason, number>>;
  /** The latest refusal: message kind, reason, what was wrong and when. */
  last: { kind: string; reason: RefusalReason; detail: string; at: string } | null;
}

/** Refusal counters; the device ids come from authenticated topics, so the map grows with the fleet. */
export class DeviceRefusals {
  readonly #byDevice = new Map<string, DeviceRefusalCounts>();
  readonly #listeners: ((kind: string, reason: RefusalReason) => void)[] = [];

  /** Counts one refused message. */
  record(deviceId: string, kind: string, reason: RefusalReason, detail: string, at = new Date()): void {
    const counts = this.#byDevice.get(deviceId) ?? { total: 0, byReason: {}, last: null };
    counts.total++;
    counts.byReason[reason] = (counts.byReason[reason] ?? 0) + 1;
    counts.last = { kind, reason, detail: detail.slice(0, 512), at: at.toISOString() };
    this.#byDevice.set(deviceId, counts);
    for (const listener of this.#listeners) listener(kind, reason);
  }

  /** One device's counts (zero when it sent nothing refused). */
  of(deviceId: string): DeviceRefusalCounts {
    const counts = this.#byDevice.get(deviceId);
    return counts ? structuredClone(counts) : { total: 0, byReason: {}, last: null };
  }

  /** Told of every refusal (the metrics counter). */
  onRecord(listener: (kind: string, reason: RefusalReason) => void): void {
    this.#listeners.push(listener);
  }
}

/**
 * Per-device message quotas: a token bucket per device and message kind, refilled continuously at
 * `perMinute / 60` tokens a second up to `perMinute` (a minute's worth may come as one burst). A
 * device that floods its events topic (1,000 events stored in 3.6 s before) spends its own bucket
 * and no other device's. The clock is injected so tests need no sleeps.
 */

export interface QuotaOptions {
  /** Messages per minute per device, by kind; kinds not named have no quota. */
  perMinute: Partial<Record<string, number>>;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets per device and kind. */
export class DeviceQuota {
  readonly #perMinute: Partial<Record<string, number>>;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: QuotaOptions) {
    this.#perMinute = options.perMinute;
    this.#now = options.now ?? Date.now;
  }

  /** Takes one token for this device's message; false when its bucket is empty (refuse it). */
  take(deviceId: string, kind: string): boolean {
    const capacity = this.#perMinute[kind];
    if (capacity === undefined) return true;
    const key = `${kind}\u0000${deviceId}`;
    const now = this.#now();
    const bucket = this.#buckets.get(key) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 60_000) * capacity);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Forgets a device's buckets (deleted devices). */
  forget(deviceId: string): void {
    for (const key of this.#buckets.keys()) if (key.endsWith(`\u0000${deviceId}`)) this.#buckets.delete(key);
  }
}

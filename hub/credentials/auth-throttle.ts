/**
 * Failed-authentication throttle, shared by the HTTP API and the embedded broker. Every refused
 * credential counts against its source address and, when it named one, its device; past a few
 * free failures a key is blocked for a back-off that doubles with each further failure. A blocked
 * device-secret attempt is refused before any scrypt runs, so a flood of wrong secrets costs a map
 * lookup each and valid logins from other sources do not wait behind it. A secret the hub
 * verified moments ago (its credential cache) and a valid API token (a sha256 lookup) are let
 * through even while blocked: the throttle bounds guessing, it must not lock out who holds the key. Failures are forgotten after a quiet
 * window; a success clears the device's count (never the source's: one valid device must not
 * launder a source's guesses against others).
 */

export interface AuthThrottleLimits {
  /** Failures from one address before its first block (count); higher, as many devices may share a NAT. */
  freeFailuresPerSource: number;
  /** Failures against one device id before its first block (count). */
  freeFailuresPerDevice: number;
  /** First block, in milliseconds; doubles with every failure after that. */
  baseBlockMs: number;
  /** Longest block, in milliseconds. */
  maxBlockMs: number;
  /** A key with no failure for this long starts again from zero (ms). */
  forgetAfterMs: number;
  /** Keys remembered at most (least recently failed leave first); ~100 bytes each. */
  maxKeys: number;
}

export const AUTH_THROTTLE_DEFAULTS: AuthThrottleLimits = {
  freeFailuresPerSource: 20,
  freeFailuresPerDevice: 5,
  baseBlockMs: 1_000,
  // A device locked out by someone guessing its id waits at most a minute between tries.
  maxBlockMs: 60_000,
  forgetAfterMs: 15 * 60_000,
  maxKeys: 100_000,
};

/** What an attempt is about: where it comes from and, when it names one, which device. */
export interface AuthAttempt {
  source: string;
  deviceId?: string | undefined;
}

export type ThrottleVerdict = { ok: true } | { ok: false; retryAfterMs: number; key: "source" | "device" };

interface Entry {
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
}

/** In-memory failed-auth counters with exponential back-off (per hub process). */
export class AuthThrottle {
  readonly #entries = new Map<string, Entry>();
  readonly #limits: AuthThrottleLimits;
  readonly #now: () => number;

  constructor(limits: Partial<AuthThrottleLimits> = {}, now: () => number = Date.now) {
    this.#limits = { ...AUTH_THROTTLE_DEFAULTS, ...limits };
    this.#now = now;
  }

  /** Whether an attempt may be checked now; when not, how long until it may. */
  check(attempt: AuthAttempt): ThrottleVerdict {
    const now = this.#now();
    for (const [kind, key] of keysOf(attempt)) {
      const entry = this.#fresh(key, now);
      if (entry && entry.blockedUntil > now)
        return { ok: false, retryAfterMs: entry.blockedUntil - now, key: kind };
    }
    return { ok: true };
  }

  /** Counts a refused credential against its source and device. */
  failed(attempt: AuthAttempt): void {
    const now = this.#now();
    for (const [kind, key] of keysOf(attempt)) {
      const entry = this.#fresh(key, now) ?? { failures: 0, lastFailureAt: now, blockedUntil: 0 };
      entry.failures += 1;
      entry.lastFailureAt = now;
      const free =
        kind === "source" ? this.#limits.freeFailuresPerSource : this.#limits.freeFailuresPerDevice;
      const over = entry.failures - free;
      if (over > 0) {
        const block = Math.min(
          this.#limits.maxBlockMs,
          this.#limits.baseBlockMs * 2 ** Math.min(over - 1, 30),
        );
        entry.blockedUntil = now + block;
      }
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    while (this.#entries.size > this.#limits.maxKeys) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  /** A device proved its credential: its own count starts again (the source's does not). */
  succeeded(attempt: AuthAttempt): void {
    if (attempt.deviceId !== undefined) this.#entries.delete(`device:${attempt.deviceId}`);
  }

  /** Keys with failures on record now. */
  get size(): number {
    return this.#entries.size;
  }

  #fresh(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (now - entry.lastFailureAt > this.#limits.forgetAfterMs && entry.blockedUntil <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

function keysOf(attempt: AuthAttempt): Array<["source" | "device", string]> {
  const keys: Array<["source" | "device", string]> = [["source", `source:${attempt.source}`]];
  if (attempt.deviceId !== undefined) keys.push(["device", `device:${attempt.deviceId}`]);
  return keys;
}

/**
 * Device credentials verified recently, so a reconnect storm (a broker restart, 1000 agents at
 * once) costs a hash lookup per device instead of ~50 ms of scrypt each (secret-hash.ts).
 * One entry per device: sha256 of `id:secret`, which never stores the secret itself, and an
 * expiry. Bounded (least recently used leaves first) and short-lived: with several hub replicas a
 * secret rotated on one replica still works on another until its entry here expires.
 */
import { createHash, timingSafeEqual } from "node:crypto";

export interface CredentialCacheOptions {
  /** How long a verified secret is trusted without scrypt (ms). */
  ttlMs?: number;
  /** Devices remembered at most; 100k entries are ~15 MB. */
  maxEntries?: number;
  /** Milliseconds clock; injected by tests. */
  now?: () => number;
}

export const CREDENTIAL_CACHE_DEFAULTS = { ttlMs: 120_000, maxEntries: 100_000 } as const;

function digest(id: string, secret: string): Buffer {
  return createHash("sha256").update(`${id}:${secret}`).digest();
}

/** An LRU of device id → (sha256(id:secret), expiry). */
export class CredentialCache {
  readonly #entries = new Map<string, { digest: Buffer; expiresAt: number }>();
  /** Only devices that were ever rotated or deleted have one; they are few. */
  readonly #epochs = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: CredentialCacheOptions = {}) {
    this.#ttlMs = options.ttlMs ?? CREDENTIAL_CACHE_DEFAULTS.ttlMs;
    this.#maxEntries = options.maxEntries ?? CREDENTIAL_CACHE_DEFAULTS.maxEntries;
    this.#now = options.now ?? Date.now;
  }

  /** True when this exact id and secret were verified and have not expired. */
  has(id: string, secret: string): boolean {
    const entry = this.#entries.get(id);
    if (!entry) return false;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(id);
      return false;
    }
    if (!timingSafeEqual(entry.digest, digest(id, secret))) return false;
    // Re-insert so the Map's order stays least-recently-used first.
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    return true;
  }

  /** A counter that changes when a device's secret is rotated or the device deleted. */
  epoch(id: string): number {
    return this.#epochs.get(id) ?? 0;
  }

  /**
   * Remembers a verified (or just issued) secret, replacing the device's previous one. With
   * `ifEpoch`, only when no rotation or delete happened since that epoch was read, so a check that
   * started before a rotation cannot bring the old secret back.
   */
  remember(id: string, secret: string, ifEpoch?: number): void {
    if (ifEpoch !== undefined && ifEpoch !== this.epoch(id)) return;
    this.#entries.delete(id);
    this.#entries.set(id, { digest: digest(id, secret), expiresAt: this.#now() + this.#ttlMs });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  /** Drops a device's entry and moves its epoch on (secret rotated, device deleted). */
  forget(id: string): void {
    this.#entries.delete(id);
    this.#epochs.set(id, this.epoch(id) + 1);
  }

  /** Entries held now, expired ones included until touched. */
  get size(): number {
    return this.#entries.size;
  }
}

/**
 * Device secrets are stored as `scrypt$N$r$p$salt$hash` (base64 salt and hash). scrypt because a
 * device secret may sit on a device for years and a leaked table must not be cheap to brute-force;
 * the parameters travel with the hash so they can be raised later without breaking old rows.
 */
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

const DEFAULTS = { N: 16_384, r: 8, p: 1 } as const; // ~16 MiB and ~50 ms per hash
const KEY_LENGTH = 32; // bytes
const SALT_LENGTH = 16; // bytes

function scryptAsync(secret: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_LENGTH, { ...options, maxmem: 64 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** scrypt cost parameters; stored with each hash. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * Hashes a secret with a fresh salt into the self-describing `scrypt$…` format. Lower `params`
 * only for test and benchmark fixtures that seed thousands of devices; the hub always uses DEFAULTS.
 */
export async function hashSecret(secret: string, params: ScryptParams = DEFAULTS): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await scryptAsync(secret, salt, params);
  return ["scrypt", params.N, params.r, params.p, salt.toString("base64"), key.toString("base64")].join("$");
}

/** Checks a secret against a stored hash in constant time; false for malformed hashes. */
export async function verifySecretHash(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0)) return false;
  const salt = Buffer.from(parts[4]!, "base64");
  const expected = Buffer.from(parts[5]!, "base64");
  if (expected.length !== KEY_LENGTH) return false;
  const actual = await scryptAsync(secret, salt, { N, r, p });
  return timingSafeEqual(actual, expected);
}

let dummy: Promise<string> | undefined;

/** A hash of a random secret, for spending the same time when a device id is unknown (made on first use). */
export function dummyHash(): Promise<string> {
  dummy ??= hashSecret(randomBytes(16).toString("hex"));
  return dummy;
}

/** A new random secret: a prefix that says what it is, then 32 random bytes as base64url. */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString("base64url")}`;
}

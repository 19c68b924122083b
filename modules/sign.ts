/**
 * ed25519 signatures over module.json bytes. The hub holds the private key; agents pin the public
 * key and verify before trusting anything in a module.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";

export interface SigningKeyPair {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** SPKI PEM. */
  publicKeyPem: string;
}

/** Creates a fresh ed25519 key pair as PEM strings. */
export function generateSigningKeyPair(): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

function requireEd25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== "ed25519") {
    throw new Error(`${what} is a ${key.asymmetricKeyType ?? "symmetric"} key; module signing uses ed25519`);
  }
  return key;
}

function publicKeyOf(publicKeyPem: string): KeyObject {
  return requireEd25519(createPublicKey(publicKeyPem), "the public key");
}

/** Signs bytes with an ed25519 private key (PEM); returns the 64-byte signature as base64. */
export function signBytes(bytes: Uint8Array, privateKeyPem: string): string {
  const key = requireEd25519(createPrivateKey(privateKeyPem), "the private key");
  return sign(null, bytes, key).toString("base64");
}

const BASE64_SIGNATURE = /^[A-Za-z0-9+/]{86}==$/;

/**
 * True when `signatureB64` is a valid ed25519 signature of `bytes` by the key. A malformed signature
 * is simply not valid (false); a malformed or non-ed25519 key is the caller's error and throws.
 */
export function verifyBytes(bytes: Uint8Array, signatureB64: string, publicKeyPem: string): boolean {
  const key = publicKeyOf(publicKeyPem);
  const text = signatureB64.trim();
  // Buffer's base64 decoder skips junk silently; insist on the one canonical spelling of 64 bytes.
  if (!BASE64_SIGNATURE.test(text)) return false;
  return verify(null, bytes, key, Buffer.from(text, "base64"));
}

/** Short, stable id of a public key: the first 16 hex characters of sha256 over its DER (SPKI). */
export function keyFingerprint(publicKeyPem: string): string {
  const der = publicKeyOf(publicKeyPem).export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("hex").slice(0, 16);
}

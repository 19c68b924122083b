import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateSigningKeyPair, keyFingerprint, signBytes, verifyBytes } from "./sign.js";

const pair = generateSigningKeyPair();
const other = generateSigningKeyPair();
const message = new TextEncoder().encode('{"name":"demo"}\n');

describe("signing", () => {
  it("produces PEM keys and a verifiable 64-byte signature", () => {
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(pair.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const signature = signBytes(message, pair.privateKeyPem);
    expect(Buffer.from(signature, "base64")).toHaveLength(64);
    expect(verifyBytes(message, signature, pair.publicKeyPem)).toBe(true);
    expect(verifyBytes(message, `${signature}\n`, pair.publicKeyPem)).toBe(true);
  });

  it("rejects changed bytes, another key, and malformed signatures", () => {
    const signature = signBytes(message, pair.privateKeyPem);
    const changed = message.slice();
    changed[0]! ^= 1;
    expect(verifyBytes(changed, signature, pair.publicKeyPem)).toBe(false);
    expect(verifyBytes(message, signature, other.publicKeyPem)).toBe(false);
    expect(verifyBytes(message, "", pair.publicKeyPem)).toBe(false);
    expect(verifyBytes(message, "not base64 at all", pair.publicKeyPem)).toBe(false);
    expect(verifyBytes(message, signature.slice(0, 40), pair.publicKeyPem)).toBe(false);
    expect(verifyBytes(message, `${signature.slice(0, 10)}*${signature.slice(11)}`, pair.publicKeyPem)).toBe(
      false,
    );
  });

  it("refuses keys that are not ed25519", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const rsaPublic = rsa.publicKey.export({ type: "spki", format: "pem" }).toString();
    const rsaPrivate = rsa.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expect(() => signBytes(message, rsaPrivate)).toThrow(/ed25519/);
    expect(() => verifyBytes(message, "x", rsaPublic)).toThrow(/ed25519/);
    expect(() => keyFingerprint("garbage")).toThrow();
  });

  it("fingerprints are short, stable and distinct per key", () => {
    expect(keyFingerprint(pair.publicKeyPem)).toMatch(/^[0-9a-f]{16}$/);
    expect(keyFingerprint(pair.publicKeyPem)).toBe(keyFingerprint(pair.publicKeyPem));
    expect(keyFingerprint(pair.publicKeyPem)).not.toBe(keyFingerprint(other.publicKeyPem));
  });
});

/**
 * The one import of `@peculiar/x509`: it needs a Reflect metadata polyfill loaded before it (its
 * dependency injection container, tsyringe, checks at import time) and a WebCrypto provider.
 * Everything that reads or writes certificates imports `x509` from here.
 */
import "reflect-metadata";
import { createPrivateKey, KeyObject, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export type { CryptoKey };
export { x509 };

/** The key algorithm of every key edgefleet makes: ECDSA P-256 with SHA-256 (small, fast, universal). */
export const EC_P256 = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** A fresh exportable P-256 key pair. */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_P256, true, ["sign", "verify"])) as CryptoKeyPair;
}

/** A private key as PKCS#8 PEM, the form node:tls, mqtt.js and Mosquitto read. */
export function privateKeyPem(key: CryptoKey): string {
  return KeyObject.from(key).export({ type: "pkcs8", format: "pem" }) as string;
}

/** Imports a PKCS#8 PEM private key for signing. */
export function importPrivateKeyPem(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ type: "pkcs8", format: "der" });
  return webcrypto.subtle.importKey("pkcs8", der, EC_P256, true, ["sign"]) as Promise<CryptoKey>;
}

/**
 * A device's key and certificate signing request, made where the key will live (the CLI on the
 * operator's machine): the private key never travels.
 */
export async function createDeviceCsr(deviceId: string): Promise<{ keyPem: string; csrPem: string }> {
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${deviceId}`,
    keys,
    signingAlgorithm: EC_P256,
  });
  return { keyPem: privateKeyPem(keys.privateKey), csrPem: csr.toString("pem") };
}

/**
 * The hub's ed25519 module-signing key, kept in the data folder (`keys/signing.key`, mode 0600).
 * Created on first start; agents pin the public key.
 */
import { chmod, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../lib/files.js";
import { generateSigningKeyPair, keyFingerprint } from "../modules/sign.js";

export interface SigningKeys {
  privateKeyPem: string;
  publicKeyPem: string;
  fingerprint: string;
}

/** Loads the signing key pair from the data folder, creating it on first start. */
export async function loadOrCreateSigningKeys(dataDir: string): Promise<SigningKeys & { created: boolean }> {
  const privatePath = join(dataDir, "keys", "signing.key");
  const publicPath = join(dataDir, "keys", "signing.pub");
  try {
    const [privateKeyPem, publicKeyPem] = await Promise.all([
      readFile(privatePath, "utf8"),
      readFile(publicPath, "utf8"),
    ]);
    return { privateKeyPem, publicKeyPem, fingerprint: keyFingerprint(publicKeyPem), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const pair = generateSigningKeyPair();
  await writeFileAtomic(privatePath, pair.privateKeyPem);
  await chmod(privatePath, 0o600);
  await writeFileAtomic(publicPath, pair.publicKeyPem);
  return { ...pair, fingerprint: keyFingerprint(pair.publicKeyPem), created: true };
}

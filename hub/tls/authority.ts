/**
 * The hub's own certificate authority, kept in `${dataDir}/tls/`: created on first start when the
 * hub is asked for TLS without certificate files (`--tls auto`, or a non-loopback bind without
 * `--insecure`). It issues the hub's server certificate (names from the public URLs plus
 * localhost, 127.0.0.1 and ::1) and signs devices' CSRs (mutual TLS). Private keys are 0600 in a
 * 0700 folder; certificates are public.
 */
import { createHash, randomBytes, X509Certificate } from "node:crypto";
import { chmod, mkdir, readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { ValidationError } from "../../lib/errors.js";
import { writeFileAtomic } from "../../lib/files.js";
import {
  type CryptoKey,
  EC_P256,
  generateKeyPair,
  importPrivateKeyPem,
  privateKeyPem,
  x509,
} from "../../lib/tls/x509.js";

import { CA_CERT_FILE, CA_KEY_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE, TLS_DIR } from "./files.js";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Lifetimes: the CA outlives every fleet refresh; leaf certificates are renewed yearly. */
export const CERT_LIFETIMES = {
  caDays: 3650,
  serverDays: 365,
  deviceDays: 365,
  /** A server certificate this close to expiry (or missing a name) is reissued at start. */
  renewBeforeDays: 30,
} as const;

/** A certificate the hub issued to a device. */
export interface IssuedDeviceCertificate {
  certificatePem: string;
  /** sha256 of the DER, lowercase hex: what the hub stores and checks (devices.cert_sha256). */
  sha256: string;
  serialNumber: string;
  notAfter: Date;
}

export interface CertificateAuthority {
  /** The CA certificate devices and clients trust (PEM). */
  readonly caPem: string;
  /** The hub's server certificate and key (PEM) for HTTPS and MQTTS; absent when not asked for. */
  readonly server: { certPem: string; keyPem: string; created: boolean } | undefined;
  /** Signs a device's CSR: subject CN = device id, client-auth only, whatever the CSR asked for. */
  signDeviceCsr(deviceId: string, csrPem: string, now?: Date): Promise<IssuedDeviceCertificate>;
}

/** sha256 of a certificate's DER, lowercase hex (the form `devices.cert_sha256` holds). */
export function certificateSha256(der: Buffer | ArrayBuffer): string {
  return createHash("sha256")
    .update(Buffer.from(der as ArrayBuffer))
    .digest("hex");
}

/**
 * Loads the CA from the data folder (creating it on first use) and, unless `names` is null (the
 * operator brought a server certificate), a server certificate for `names`.
 */
export async function loadOrCreateAuthority(
  dataDir: string,
  names: readonly string[] | null,
  now: Date = new Date(),
): Promise<CertificateAuthority & { caCreated: boolean }> {
  const dir = join(dataDir, TLS_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const ca = await loadOrCreateCa(dir, now);
  const server = names ? await loadOrCreateServerCert(dir, ca, names, now) : undefined;
  return {
    caPem: ca.certPem,
    caCreated: ca.created,
    server,
    async signDeviceCsr(deviceId, csrPem, at = new Date()) {
      let csr: x509.Pkcs10CertificateRequest;
      try {
        csr = new x509.Pkcs10CertificateRequest(csrPem);
      } catch (error) {
        throw new ValidationError(
          `csr is not a PEM certificate signing request: ${(error as Error).message}`,
        );
      }
      if (!(await csr.verify())) throw new ValidationError("csr signature does not verify");
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: newSerial(),
        subject: `CN=${deviceId}`,
        issuer: ca.cert.subject,
        notBefore: new Date(at.getTime() - 60_000),
        notAfter: new Date(at.getTime() + CERT_LIFETIMES.deviceDays * DAY_MS),
        publicKey: csr.publicKey,
        signingKey: ca.key,
        signingAlgorithm: EC_P256,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        ],
      });
      return {
        certificatePem: cert.toString("pem"),
        sha256: certificateSha256(cert.rawData),
        serialNumber: cert.serialNumber,
        notAfter: cert.notAfter,
      };
    },
  };
}

interface LoadedCa {
  cert: x509.X509Certificate;
  certPem: string;
  key: CryptoKey;
  created: boolean;
}

async function loadOrCreateCa(dir: string, now: Date): Promise<LoadedCa> {
  const certPath = join(dir, CA_CERT_FILE);
  const keyPath = join(dir, CA_KEY_FILE);
  const [certPem, keyPem] = await Promise.all([readOptional(certPath), readOptional(keyPath)]);
  if (certPem !== undefined && keyPem !== undefined) {
    return {
      cert: new x509.X509Certificate(certPem),
      certPem,
      key: await importPrivateKeyPem(keyPem),
      created: false,
    };
  }
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: `CN=edgefleet hub CA ${randomBytes(4).toString("hex")}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + CERT_LIFETIMES.caDays * DAY_MS),
    keys,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  // The key first: a CA certificate without its key on disk would be a CA nobody can sign with.
  await writeSecret(keyPath, privateKeyPem(keys.privateKey));
  const pem = cert.toString("pem");
  await writeFileAtomic(certPath, `${pem}\n`);
  return { cert, certPem: `${pem}\n`, key: keys.privateKey, created: true };
}

async function loadOrCreateServerCert(
  dir: string,
  ca: LoadedCa,
  names: readonly string[],
  now: Date,
): Promise<{ certPem: string; keyPem: string; created: boolean }> {
  const certPath = join(dir, SERVER_CERT_FILE);
  const keyPath = join(dir, SERVER_KEY_FILE);
  const [certPem, keyPem] = await Promise.all([readOptional(certPath), readOptional(keyPath)]);
  if (certPem !== undefined && keyPem !== undefined && serverCertStillFits(certPem, ca.certPem, names, now)) {
    return { certPem, keyPem, created: false };
  }
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: newSerial(),
    subject: `CN=${names[0] ?? "localhost"}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + CERT_LIFETIMES.serverDays * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((name) => (isIP(name) ? { type: "ip", value: name } : { type: "dns", value: name })),
      ),
    ],
  });
  const newKeyPem = privateKeyPem(keys.privateKey);
  await writeSecret(keyPath, newKeyPem);
  const newCertPem = `${cert.toString("pem")}\n`;
  await writeFileAtomic(certPath, newCertPem);
  return { certPem: newCertPem, keyPem: newKeyPem, created: true };
}

/** True when the stored server certificate is this CA's, names every host and is not near expiry. */
function serverCertStillFits(certPem: string, caPem: string, names: readonly string[], now: Date): boolean {
  try {
    const cert = new X509Certificate(certPem);
    if (!cert.checkIssued(new X509Certificate(caPem))) return false;
    if (new Date(cert.validTo).getTime() - now.getTime() < CERT_LIFETIMES.renewBeforeDays * DAY_MS)
      return false;
    return names.every((name) => (isIP(name) ? cert.checkIP(name) : cert.checkHost(name)) !== undefined);
  } catch {
    return false;
  }
}

/** The names a hub's server certificate carries: the public hosts first, then this machine's. */
export function serverCertificateNames(hosts: readonly (string | undefined)[]): string[] {
  const names = new Set<string>();
  for (const host of [...hosts, "localhost", "127.0.0.1", "::1"]) {
    const bare = host?.replace(/^\[|\]$/g, "");
    if (bare && bare !== "0.0.0.0" && bare !== "::") names.add(bare);
  }
  return [...names];
}

function newSerial(): string {
  // Positive (top bit clear) and unpredictable, as RFC 5280 §4.1.2.2 asks.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString("hex");
}

async function writeSecret(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, text);
  await chmod(path, 0o600);
}

function readOptional(path: string): Promise<string | undefined> {
  return readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
}

/**
 * Device certificates from the CLI: the key and CSR are made here, on the operator's machine, and
 * only the CSR goes to the hub, whose CA signs it (`POST /api/v1/devices/{id}/certificate`). The
 * key is written 0600 beside the certificate; nothing is written over an existing file.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { HubClient } from "../../hub-api/client.js";

export interface IssuedFiles {
  certFile: string;
  keyFile: string;
  /** The CA that signed the certificate (the hub's), PEM. */
  ca: string;
  sha256: string;
  notAfter: string;
  disconnected: boolean;
}

/** Makes a key and CSR for `deviceId`, has the hub sign it, and writes `<id>.key.pem` and `<id>.cert.pem` in `dir`. */
export async function issueDeviceCertificate(
  client: HubClient,
  deviceId: string,
  dir: string,
): Promise<IssuedFiles> {
  // x509 (and its reflect-metadata) loads only for the commands that make a key.
  const { createDeviceCsr } = await import("../../lib/tls/x509.js");
  const { keyPem, csrPem } = await createDeviceCsr(deviceId);
  const issued = await client.post<{
    certificate: string;
    ca: string;
    sha256: string;
    notAfter: string;
    disconnected: boolean;
  }>(`/api/v1/devices/${encodeURIComponent(deviceId)}/certificate`, { csr: csrPem });
  const keyFile = join(dir, `${deviceId}.key.pem`);
  const certFile = join(dir, `${deviceId}.cert.pem`);
  await writeFile(keyFile, keyPem, { mode: 0o600, flag: "wx" });
  await writeFile(certFile, issued.certificate, { mode: 0o644, flag: "wx" });
  return {
    certFile,
    keyFile,
    ca: issued.ca,
    sha256: issued.sha256,
    notAfter: issued.notAfter,
    disconnected: issued.disconnected,
  };
}

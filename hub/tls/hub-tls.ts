/**
 * The hub's TLS material, resolved once at start from its config (`hubTlsMode`): the server
 * certificate HTTPS and MQTTS present (the operator's files, or one the hub's CA issued), the CA
 * device certificates are checked against (always the hub's own, created on first need), the CA
 * bundle handed to devices, and how the hub's own clients (its MQTT link, the in-hub trainer)
 * verify its loopback listeners.
 */
import { readFile } from "node:fs/promises";
import type { Logger } from "../../lib/log.js";
import type { ClientTls } from "../../lib/tls/client-tls.js";
import { type HubConfig, hubTlsMode } from "../config.js";
import { type CertificateAuthority, loadOrCreateAuthority, serverCertificateNames } from "./authority.js";

export interface HubTls {
  /** What HTTPS and MQTTS present. */
  server: { cert: string; key: string };
  /** Signs device CSRs; client certificates are verified against its CA. */
  authority: CertificateAuthority;
  /** The CA bundle devices get to verify the hub (provisioning bundles); absent: the system roots. */
  trustPem: string | undefined;
  /** How the hub's own clients verify its listeners on loopback. */
  selfClient: ClientTls;
}

/** Reads or creates the hub's TLS material; undefined when the hub speaks plaintext. */
export async function loadHubTls(
  config: Pick<
    HubConfig,
    "dataDir" | "tls" | "tlsCert" | "tlsKey" | "tlsCa" | "publicUrl" | "publicMqttUrl" | "host" | "mqttHost"
  >,
  log: Logger,
): Promise<HubTls | undefined> {
  const mode = hubTlsMode(config);
  if (mode === "off") return undefined;
  const publicHosts = [config.publicUrl, config.publicMqttUrl].map((url) =>
    url ? new URL(url).hostname : undefined,
  );
  const names = serverCertificateNames([...publicHosts, config.host, config.mqttHost]);
  const authority = await loadOrCreateAuthority(config.dataDir, mode === "auto" ? names : null);
  if (authority.caCreated) log.info({ event: "hub.tls.ca-created", dir: `${config.dataDir}/tls` });
  if (mode === "auto") {
    const server = authority.server!;
    if (server.created) log.info({ event: "hub.tls.server-certificate-issued", names });
    return {
      server: { cert: server.certPem, key: server.keyPem },
      authority,
      trustPem: authority.caPem,
      selfClient: { ca: authority.caPem },
    };
  }
  const [cert, key, ca] = await Promise.all([
    readPem(config.tlsCert!, "--tls-cert"),
    readPem(config.tlsKey!, "--tls-key"),
    config.tlsCa ? readPem(config.tlsCa, "--tls-ca") : Promise.resolve(undefined),
  ]);
  // The operator's certificate names the public host, not necessarily 127.0.0.1: the hub's own
  // clients reach it on loopback and check it against the public name.
  const identityHost = publicHosts[0] ?? undefined;
  return {
    server: { cert, key },
    authority,
    trustPem: ca,
    selfClient: { ca, ...(identityHost ? { identityHost } : {}) },
  };
}

async function readPem(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new Error(`${flag} ${path}: ${(error as Error).message}`);
  }
}

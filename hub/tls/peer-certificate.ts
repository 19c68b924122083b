/**
 * The client certificate of a broker connection, as the policy sees it. The TLS listener asks for
 * one without requiring it, so a socket has none (secret login), a verified one (its subject CN is
 * the device id), or one that did not chain to the hub's CA, which is refused rather than ignored:
 * a device that meant to use a certificate should hear why it failed.
 */
import { createHash } from "node:crypto";
import type { TLSSocket } from "node:tls";
import type { ClientCertificate } from "../broker/policy.js";

export type PeerCertificate =
  | { kind: "none" }
  | { kind: "verified"; certificate: ClientCertificate }
  | { kind: "unverified"; reason: string };

/** Reads the peer certificate of a connection (a plain TCP socket has none). */
export function peerDeviceCertificate(socket: TLSSocket | undefined): PeerCertificate {
  if (!socket || typeof socket.getPeerCertificate !== "function") return { kind: "none" };
  const cert = socket.getPeerCertificate();
  if (!cert?.raw) return { kind: "none" };
  if (!socket.authorized) {
    return {
      kind: "unverified",
      reason: `client certificate refused: ${String(socket.authorizationError ?? "not signed by the hub's CA")}`,
    };
  }
  const cn = cert.subject?.CN;
  const deviceId = Array.isArray(cn) ? cn[0] : cn;
  if (!deviceId) return { kind: "unverified", reason: "client certificate has no subject CN" };
  return {
    kind: "verified",
    certificate: {
      deviceId,
      sha256: createHash("sha256").update(cert.raw).digest("hex"),
      external: false,
    },
  };
}

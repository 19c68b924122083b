/**
 * What a client (agent, CLI, simulator, the hub's own links) needs to speak TLS to the hub: the CA
 * bundle it trusts, an optional client certificate (mutual TLS), and, for the hub's links to its
 * own loopback listeners, the name its certificate carries. Node's global fetch takes none of
 * these, so `tlsFetch` uses undici's fetch with an Agent whose connector carries them; mqtt.js
 * takes them as options (`mqttTlsOptions`).
 */
import { checkServerIdentity, type PeerCertificate } from "node:tls";

export interface ClientTls {
  /** PEM CA bundle to verify the server against; the system's roots when absent. */
  ca?: string | undefined;
  /** PEM client certificate (mutual TLS), with `key`. */
  cert?: string | undefined;
  key?: string | undefined;
  /** Check the server's certificate against this name instead of the URL's host. */
  identityHost?: string | undefined;
}

/** True when there is anything to configure (otherwise plain defaults do). */
export function hasClientTls(tls: ClientTls | undefined): tls is ClientTls {
  return (
    tls !== undefined && (tls.ca !== undefined || tls.cert !== undefined || tls.identityHost !== undefined)
  );
}

/** node:tls connect options for `tls`: verification always on. */
export function tlsConnectOptions(tls: ClientTls): {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: true;
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
} {
  const identityHost = tls.identityHost;
  return {
    rejectUnauthorized: true,
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
    ...(identityHost
      ? { checkServerIdentity: (_host, cert) => checkServerIdentity(identityHost, cert) }
      : {}),
  };
}

/** mqtt.js options for `tls` (they only take effect on mqtts:// and wss:// URLs). */
export function mqttTlsOptions(tls: ClientTls | undefined): Record<string, unknown> {
  return hasClientTls(tls) ? tlsConnectOptions(tls) : {};
}

/**
 * A fetch that trusts `tls.ca` and presents `tls.cert`; the global fetch when there is nothing to
 * configure. undici (the package Node's own fetch is built from) is loaded only then.
 */
export function tlsFetch(tls: ClientTls | undefined): typeof fetch {
  if (!hasClientTls(tls)) return fetch;
  const ready = import("undici").then(({ Agent, fetch: undiciFetch }) => ({
    agent: new Agent({ connect: tlsConnectOptions(tls) }),
    undiciFetch,
  }));
  return (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const { agent, undiciFetch } = await ready;
    return undiciFetch(
      input as never,
      { ...(init as object), dispatcher: agent } as never,
    ) as unknown as Response;
  }) as typeof fetch;
}

/**
 * Broker policy as plain functions: who may connect, publish and subscribe (wire/README.md §2:
 * a device's credentials allow only its own subtree; the hub's allow all). No aedes, no database:
 * `embedded.ts` adapts these to aedes' handlers, and the device secret check is injected.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import {
  DEVICE_ID_PATTERN,
  HUB_CLIENT_ID_PREFIX,
  isValidDeviceId,
  parseDeviceTopic,
} from "../../wire/topics.js";
import type { AuthThrottle } from "../credentials/auth-throttle.js";

/** Username the hub authenticates with; its password is the hub secret. */
export const HUB_USERNAME = "edgefleet-hub";

// Client ids the hub may use start with HUB_CLIENT_ID_PREFIX; devices may never take one (wire/topics.ts).
export { HUB_CLIENT_ID_PREFIX, isValidDeviceId };

/** Limits of the embedded broker; aedes option names are noted where a value is passed straight through. */
export const BROKER_DEFAULTS = {
  /** Largest payload a device may publish, in bytes (256 KiB); telemetry windows are a few KiB. */
  maxDevicePayloadBytes: 256 * 1024,
  /** Largest payload the hub may publish, in bytes (1 MiB); desired states list module URLs, not bytes. */
  maxHubPayloadBytes: 1024 * 1024,
  /** Device connections at once (count); the hub is always admitted, and a session takeover is too. */
  maxConnections: 10_000,
  /** Time a socket may take to send CONNECT, in milliseconds (aedes `connectTimeout`). */
  connectTimeoutMs: 10_000,
  /** Largest keep-alive a client may ask for, in seconds; 0 = no limit (aedes `keepaliveLimit`). */
  keepaliveLimitS: 0,
  /** Topic levels (count); ours use at most 6 (aedes `maxTopicLevels`). */
  maxTopicLevels: 16,
  /** Packets buffered per client while it is still authenticating (count; aedes `queueLimit`). */
  queueLimit: 42,
} as const;

export type BrokerLimits = { -readonly [K in keyof typeof BROKER_DEFAULTS]: number };

/** Who a connected client is. */
export type Principal = { kind: "hub" } | { kind: "device"; deviceId: string };

/** Checks a device's secret; resolves false for an unknown device or a wrong secret. */
export type VerifyDevice = (deviceId: string, secret: string) => Promise<boolean>;

/** Checks a verified client certificate against the device's record (enabled, not replaced). */
export type VerifyDeviceCertificate = (deviceId: string, certificate: ClientCertificate) => Promise<boolean>;

/** A client certificate the TLS layer verified against a CA the hub trusts. */
export interface ClientCertificate {
  /** The device id the certificate names (its subject CN). */
  deviceId: string;
  /** sha256 of the certificate's DER, lowercase hex. */
  sha256: string;
  /** True when an external CA signed it rather than the hub's own. */
  external: boolean;
}

export interface PolicyDeps {
  /** Password of the hub principal. */
  hubSecret: string;
  verifyDevice: VerifyDevice;
  /** Needed only when the listener asks for client certificates. */
  verifyDeviceCertificate?: VerifyDeviceCertificate;
  /** A secret verified moments ago (no scrypt): admitted even while its id is throttled. */
  recentlyVerified?: (deviceId: string, secret: string) => boolean;
  /** Failed attempts per source address and device id, with back-off (hub/credentials). */
  throttle?: AuthThrottle;
}

/** The parts of a PUBLISH (or a will) the policy looks at. */
export interface PublishRequest {
  topic: string;
  payloadBytes: number;
  retain: boolean;
}

/** The parts of a CONNECT the policy looks at. */
export interface ConnectRequest {
  clientId: string;
  username?: string | undefined;
  password?: Buffer | string | undefined;
  will?: PublishRequest | null | undefined;
  /** Clients connected right now (count). */
  connectedClients: number;
  /** True when a client with the same id is connected: the new one replaces it, so it adds none. */
  takesOverSession: boolean;
  /** The peer's address, for the failed-auth throttle. */
  source?: string;
  /** The client certificate the TLS handshake verified, when the client sent one. */
  certificate?: ClientCertificate | undefined;
}

/** MQTT 3.1.1 CONNACK return codes we refuse with (§3.2.2.3). */
export const CONNACK = {
  identifierRejected: 2,
  serverUnavailable: 3,
  badUsernameOrPassword: 4,
  notAuthorized: 5,
} as const;
export type RefusalCode = (typeof CONNACK)[keyof typeof CONNACK];

export type ConnectDecision =
  | { ok: true; principal: Principal }
  | { ok: false; returnCode: RefusalCode; reason: string };
export type Decision = { ok: true } | { ok: false; reason: string };

const ALLOW: Decision = { ok: true };
const refuse = (reason: string): Decision => ({ ok: false, reason });
const refuseConnect = (returnCode: RefusalCode, reason: string): ConnectDecision => ({
  ok: false,
  returnCode,
  reason,
});

/** Topic kinds a device publishes; only `reported` and `status` are retained [WIRE-2.4]. */
const DEVICE_PUBLISH_KINDS = new Set(["reported", "status", "telemetry", "events"]);
const DEVICE_RETAINED_KINDS = new Set(["reported", "status"]);

/** True for device ids no device may use (they would collide with the hub's client ids). */
export function isReservedDeviceId(deviceId: string): boolean {
  return deviceId.startsWith(HUB_CLIENT_ID_PREFIX);
}

/** Compares secrets in constant time; hashing first makes the lengths equal. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

function passwordText(password: Buffer | string | undefined): string | undefined {
  if (password === undefined) return undefined;
  return typeof password === "string" ? password : password.toString("utf8");
}

/** Decides a CONNECT: which principal it is, or the CONNACK code to refuse it with. */
export async function authenticate(
  request: ConnectRequest,
  deps: PolicyDeps,
  limits: BrokerLimits = BROKER_DEFAULTS,
): Promise<ConnectDecision> {
  const { clientId } = request;
  const password = passwordText(request.password);
  if (request.certificate) return authenticateCertificate(request, request.certificate, deps, limits);
  const username = request.username;
  if (!username) return refuseConnect(CONNACK.badUsernameOrPassword, "no username");
  if (password === undefined || password.length === 0) {
    return refuseConnect(CONNACK.badUsernameOrPassword, "no password");
  }

  if (username === HUB_USERNAME) {
    if (!clientId.startsWith(HUB_CLIENT_ID_PREFIX)) {
      return refuseConnect(
        CONNACK.identifierRejected,
        `hub client id must start with "${HUB_CLIENT_ID_PREFIX}"`,
      );
    }
    if (!sameSecret(password, deps.hubSecret)) {
      deps.throttle?.failed({ source: request.source ?? "unknown" });
      return refuseConnect(CONNACK.badUsernameOrPassword, "wrong hub secret");
    }
    return { ok: true, principal: { kind: "hub" } };
  }

  if (!DEVICE_ID_PATTERN.test(username)) {
    return refuseConnect(CONNACK.badUsernameOrPassword, "username is not a valid device id");
  }
  if (isReservedDeviceId(username)) {
    return refuseConnect(
      CONNACK.badUsernameOrPassword,
      `device ids starting with "${HUB_CLIENT_ID_PREFIX}" are reserved`,
    );
  }
  // A device's client id is its id, so one device cannot take over another's session [WIRE-2.2] [MQTT-3.1.4-2].
  if (clientId !== username)
    return refuseConnect(CONNACK.identifierRejected, "client id must equal the device id");

  const principal: Principal = { kind: "device", deviceId: username };
  const admissible = admitDevice(request, principal, limits);
  if (admissible) return admissible;

  if (deps.recentlyVerified?.(username, password)) return { ok: true, principal };
  const attempt = { source: request.source ?? "unknown", deviceId: username };
  const blocked = throttled(deps, attempt);
  if (blocked) return blocked;
  let verified: boolean;
  try {
    verified = await deps.verifyDevice(username, password);
  } catch (error) {
    // The credential store failing is our problem, not a bad password: the device should retry.
    return refuseConnect(CONNACK.serverUnavailable, `device check failed: ${(error as Error).message}`);
  }
  if (!verified) {
    deps.throttle?.failed(attempt);
    return refuseConnect(CONNACK.badUsernameOrPassword, "unknown or disabled device, or wrong secret");
  }
  deps.throttle?.succeeded(attempt);
  return { ok: true, principal };
}

/** The checks every device CONNECT passes whatever its credential: its will and the connection limit. */
function admitDevice(
  request: ConnectRequest,
  principal: Principal,
  limits: BrokerLimits,
): ConnectDecision | null {
  if (request.will) {
    const will = authorizePublish(principal, request.will, limits);
    if (!will.ok) return refuseConnect(CONNACK.notAuthorized, `will refused: ${will.reason}`);
  }
  if (!request.takesOverSession && request.connectedClients >= limits.maxConnections) {
    return refuseConnect(CONNACK.serverUnavailable, `connection limit reached (${limits.maxConnections})`);
  }
  return null;
}

/** A refusal while the throttle blocks this source or device ("server unavailable": try later). */
function throttled(deps: PolicyDeps, attempt: { source: string; deviceId?: string }): ConnectDecision | null {
  const verdict = deps.throttle?.check(attempt);
  if (!verdict || verdict.ok) return null;
  return refuseConnect(
    CONNACK.serverUnavailable,
    `too many failed authentications from this ${verdict.key === "device" ? "device id" : "address"}; retry in ${Math.ceil(verdict.retryAfterMs / 1000)} s`,
  );
}

/**
 * A CONNECT over a TLS session with a verified client certificate: the device id comes from the
 * certificate; a username, when sent, must name the same device, and the client id must too.
 */
async function authenticateCertificate(
  request: ConnectRequest,
  certificate: ClientCertificate,
  deps: PolicyDeps,
  limits: BrokerLimits,
): Promise<ConnectDecision> {
  const { deviceId } = certificate;
  if (!DEVICE_ID_PATTERN.test(deviceId) || isReservedDeviceId(deviceId))
    return refuseConnect(CONNACK.notAuthorized, "the certificate does not name a valid device id");
  if (request.username && request.username !== deviceId)
    return refuseConnect(CONNACK.notAuthorized, "username differs from the certificate's device id");
  if (request.clientId !== deviceId)
    return refuseConnect(CONNACK.identifierRejected, "client id must equal the certificate's device id");
  const principal: Principal = { kind: "device", deviceId };
  const admissible = admitDevice(request, principal, limits);
  if (admissible) return admissible;
  if (!deps.verifyDeviceCertificate)
    return refuseConnect(CONNACK.notAuthorized, "certificates are not accepted");
  const attempt = { source: request.source ?? "unknown", deviceId };
  const blocked = throttled(deps, attempt);
  if (blocked) return blocked;
  let verified: boolean;
  try {
    verified = await deps.verifyDeviceCertificate(deviceId, certificate);
  } catch (error) {
    return refuseConnect(CONNACK.serverUnavailable, `device check failed: ${(error as Error).message}`);
  }
  if (!verified) {
    deps.throttle?.failed(attempt);
    return refuseConnect(CONNACK.notAuthorized, "unknown or disabled device, or a replaced certificate");
  }
  deps.throttle?.succeeded(attempt);
  return { ok: true, principal };
}

/** Decides a PUBLISH (or a will) from a principal. */
export function authorizePublish(
  principal: Principal,
  request: PublishRequest,
  limits: BrokerLimits = BROKER_DEFAULTS,
): Decision {
  const { topic } = request;
  // aedes' default policy reserves $SYS for the broker (moscajs/aedes#597); keep that for everyone.
  if (topic.startsWith("$")) return refuse("topics starting with $ are reserved for the broker");
  if (topic.includes("+") || topic.includes("#")) return refuse("wildcards are not allowed in a topic name");

  if (principal.kind === "hub") {
    if (request.payloadBytes > limits.maxHubPayloadBytes) {
      return refuse(`payload of ${request.payloadBytes} bytes exceeds ${limits.maxHubPayloadBytes}`);
    }
    return ALLOW;
  }

  const parsed = parseDeviceTopic(topic);
  if (!parsed) return refuse("topic is outside the device tree");
  if (parsed.deviceId !== principal.deviceId) return refuse("topic belongs to another device");
  const kind = devicePublishKind(parsed.rest);
  if (!kind) return refuse(`a device may not publish to "${parsed.rest}"`);
  if (request.retain && !DEVICE_RETAINED_KINDS.has(kind))
    return refuse(`"${kind}" messages may not be retained`);
  if (request.payloadBytes > limits.maxDevicePayloadBytes) {
    return refuse(`payload of ${request.payloadBytes} bytes exceeds ${limits.maxDevicePayloadBytes}`);
  }
  return ALLOW;
}

/** The kind a device may publish on `rest` (the topic after its id), or null. */
function devicePublishKind(rest: string): string | null {
  if (DEVICE_PUBLISH_KINDS.has(rest)) return rest;
  if (rest.startsWith("responses/") && hasNoEmptyLevel(rest.slice("responses/".length))) return "responses";
  return null;
}

function hasNoEmptyLevel(path: string): boolean {
  return path.split("/").every((level) => level.length > 0);
}

/** Decides one subscription filter from a principal. */
export function authorizeSubscribe(principal: Principal, filter: string): Decision {
  if (principal.kind === "hub") return ALLOW;
  const parsed = parseDeviceTopic(filter);
  if (!parsed) return refuse("filter is outside the device tree");
  if (parsed.deviceId !== principal.deviceId) return refuse("filter names another device");
  const { rest } = parsed;
  if (rest === "desired" || rest === "commands/#") return ALLOW;
  if (rest.startsWith("commands/")) {
    const name = rest.slice("commands/".length);
    if (!name.includes("+") && !name.includes("#") && hasNoEmptyLevel(name)) return ALLOW;
    return refuse("a command filter must be commands/# or commands/{name} without wildcards");
  }
  return refuse(`a device may not subscribe to "${rest}"`);
}

/**
 * Principal to judge a will by when its client is gone (aedes publishes stored wills of dead brokers
 * with no client). Device client ids equal their usernames, so the id names the device; anything
 * else gets no principal and its will is dropped.
 */
export function principalForOrphanWill(clientId: string): Principal | null {
  return isValidDeviceId(clientId) ? { kind: "device", deviceId: clientId } : null;
}

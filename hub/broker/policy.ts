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

export interface PolicyDeps {
  /** Password of the hub principal. */
  hubSecret: string;
  verifyDevice: VerifyDevice;
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
  const { clientId, username } = request;
  const password = passwordText(request.password);
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
    if (!sameSecret(password, deps.hubSecret))
      return refuseConnect(CONNACK.badUsernameOrPassword, "wrong hub secret");
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
  if (request.will) {
    const will = authorizePublish(principal, request.will, limits);
    if (!will.ok) return refuseConnect(CONNACK.notAuthorized, `will refused: ${will.reason}`);
  }
  if (!request.takesOverSession && request.connectedClients >= limits.maxConnections) {
    return refuseConnect(CONNACK.serverUnavailable, `connection limit reached (${limits.maxConnections})`);
  }

  let verified: boolean;
  try {
    verified = await deps.verifyDevice(username, password);
  } catch (error) {
    // The credential store failing is our problem, not a bad password: the device should retry.
    return refuseConnect(CONNACK.serverUnavailable, `device check failed: ${(error as Error).message}`);
  }
  if (!verified) return refuseConnect(CONNACK.badUsernameOrPassword, "unknown device or wrong secret");
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

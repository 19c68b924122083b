/**
 * Authentication for the hub API. Operators send `Authorization: Bearer <token>`; the token's role
 * (viewer < operator < admin) decides what it may do; a `trainer` token may only speak the worker
 * protocol. A script attempt's own bearer token (`efa_…`, from its claim) may only write its own
 * attempt's logs, metrics and model and read its inputs. Devices send HTTP Basic `deviceId:secret`
 * (or a client certificate) and may only read their own blobs and the signing key.
 */

import type { TLSSocket } from "node:tls";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context, MiddlewareHandler } from "hono";
import type { AuthThrottle } from "../credentials/auth-throttle.js";
import { TOKEN_ROLES, type TokenRole } from "../db/schema/index.js";
import { ATTEMPT_TOKEN_PREFIX } from "../repos/attempt-tokens.js";
import { peerDeviceCertificate } from "../tls/peer-certificate.js";
import { ApiError } from "./errors.js";

/** The operator roles, each with the rights of the ones before it. */
export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];
export { TOKEN_ROLES, type TokenRole };

export type Principal =
  | { kind: "operator"; tokenId: string; name: string; role: TokenRole }
  | { kind: "device"; deviceId: string }
  | { kind: "attempt"; runId: string; attempt: number };

export interface AuthOptions {
  verifyToken(token: string): Promise<{ id: string; name: string; role: TokenRole } | null>;
  /** Resolves a script attempt's own token to its attempt while that attempt runs. */
  verifyAttemptToken?(token: string): Promise<{ runId: string; attempt: number } | null>;
  verifyDevice(deviceId: string, secret: string): Promise<boolean>;
  /** Checks a client certificate (HTTPS with mutual TLS) is the device's current one. */
  verifyDeviceCertificate?(deviceId: string, sha256: string): Promise<boolean>;
  /** A device secret verified moments ago (no scrypt): let through even while its id is throttled. */
  recentlyVerified?(deviceId: string, secret: string): boolean;
  /** Failed attempts per source and device, with back-off; none means no limit (tests of other things). */
  throttle?: AuthThrottle;
}

/** The peer address of a request; "unknown" in process (app.request() has no socket). */
export function requestSource(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** The TLS socket under a request on the Node server; undefined in process (app.request()). */
function requestSocket(c: Context): TLSSocket | undefined {
  const env = c.env as { incoming?: { socket?: TLSSocket } } | undefined;
  return env?.incoming?.socket;
}

/** Refuses an attempt the throttle blocks, with Retry-After in whole seconds. */
function refuseWhileBlocked(
  c: Context,
  throttle: AuthThrottle | undefined,
  source: string,
  deviceId?: string,
) {
  const verdict = throttle?.check({ source, deviceId });
  if (!verdict || verdict.ok) return;
  c.header("retry-after", String(Math.max(1, Math.ceil(verdict.retryAfterMs / 1000))));
  throw new ApiError(
    "too_many_requests",
    `too many failed authentications from this ${verdict.key === "device" ? "device id" : "address"}; retry in ${Math.ceil(verdict.retryAfterMs / 1000)} s`,
  );
}

export type AuthVariables = { principal: Principal };

/** A principal as a name for `createdBy` fields and logs. */
export function principalName(principal: Principal): string {
  if (principal.kind === "operator") return principal.name;
  if (principal.kind === "device") return principal.deviceId;
  return `run ${principal.runId} attempt ${principal.attempt}`;
}

/** Whether a role carries at least the rights of an operator role; `trainer` carries none of them. */
export function roleAtLeast(role: TokenRole, needed: Role): boolean {
  if (role === "trainer") return false;
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/**
 * Resolves the caller into `c.get("principal")`; refuses requests without valid credentials.
 * @example app.use("/api/v1/*", authenticate({ verifyToken, verifyDevice }))
 */
export function authenticate(options: AuthOptions): MiddlewareHandler<{ Variables: AuthVariables }> {
  const { throttle } = options;
  return async function authenticateRequest(c, next) {
    const header = c.req.header("authorization") ?? "";
    const [scheme, value] = [
      header.slice(0, header.indexOf(" ")).toLowerCase(),
      header.slice(header.indexOf(" ") + 1),
    ];
    const source = requestSource(c);
    if (!header && options.verifyDeviceCertificate) {
      const peer = peerDeviceCertificate(requestSocket(c));
      if (peer.kind === "unverified") throw new ApiError("unauthorized", peer.reason);
      if (peer.kind === "verified") {
        const { deviceId, sha256 } = peer.certificate;
        const attempt = { source, deviceId };
        refuseWhileBlocked(c, throttle, source, deviceId);
        if (await options.verifyDeviceCertificate(deviceId, sha256)) {
          throttle?.succeeded(attempt);
          c.set("principal", { kind: "device", deviceId });
          return next();
        }
        throttle?.failed(attempt);
        throw new ApiError("unauthorized", "unknown or disabled device, or a replaced certificate");
      }
    }
    if (scheme === "bearer" && value && value.trim().startsWith(ATTEMPT_TOKEN_PREFIX)) {
      const attempt = await options.verifyAttemptToken?.(value.trim());
      if (!attempt) {
        refuseWhileBlocked(c, throttle, source);
        throttle?.failed({ source });
        throw new ApiError("unauthorized", "unknown attempt token, or its attempt has ended");
      }
      c.set("principal", { kind: "attempt", runId: attempt.runId, attempt: attempt.attempt });
      return next();
    }
    if (scheme === "bearer" && value) {
      // A token check is one indexed sha256 lookup, so a valid token is never throttled; wrong
      // ones from a blocked address get 429 instead of 401.
      const token = await options.verifyToken(value.trim());
      if (!token) {
        refuseWhileBlocked(c, throttle, source);
        throttle?.failed({ source });
        throw new ApiError("unauthorized", "unknown, expired or revoked token");
      }
      c.set("principal", { kind: "operator", tokenId: token.id, name: token.name, role: token.role });
      return next();
    }
    if (scheme === "basic" && value) {
      const decoded = Buffer.from(value.trim(), "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      const deviceId = decoded.slice(0, colon);
      const secret = decoded.slice(colon + 1);
      if (colon > 0 && options.recentlyVerified?.(deviceId, secret)) {
        c.set("principal", { kind: "device", deviceId });
        return next();
      }
      const attempt = { source, deviceId: colon > 0 ? deviceId : undefined };
      refuseWhileBlocked(c, throttle, source, attempt.deviceId);
      if (colon > 0 && (await options.verifyDevice(deviceId, secret))) {
        throttle?.succeeded(attempt);
        c.set("principal", { kind: "device", deviceId });
        return next();
      }
      throttle?.failed(attempt);
      throw new ApiError("unauthorized", "wrong device id or secret, or the device is disabled");
    }
    throw new ApiError("unauthorized", "send Authorization: Bearer <token> (operators) or Basic (devices)");
  };
}

/**
 * Requires an operator token with at least `role`.
 * @example app.post("/devices", requireRole("operator"), handler)
 */
export function requireRole(role: Role): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function requireOperatorRole(c, next) {
    const principal = c.get("principal");
    if (principal?.kind === "attempt") throw attemptOutOfScope(principal);
    if (principal?.kind !== "operator")
      throw new ApiError("forbidden", "this route is for operators, not devices");
    if (principal.role === "trainer")
      throw new ApiError("forbidden", "the trainer role may only use the worker protocol");
    if (!roleAtLeast(principal.role, role)) {
      throw new ApiError("forbidden", `this route needs the ${role} role; the token has ${principal.role}`);
    }
    return next();
  };
}

function attemptOutOfScope(principal: { runId: string; attempt: number }): ApiError {
  return new ApiError(
    "forbidden",
    `this token belongs to run ${principal.runId} attempt ${principal.attempt}: it may only write that attempt's logs, metrics and model and read its inputs`,
  );
}

/**
 * The worker protocol (register, claim, heartbeat, complete, fail): trainer tokens, and operators
 * and admins (who may run their own workers).
 * @example app.post("/workers/:id/claim", requireWorker(), handler)
 */
export function requireWorker(): MiddlewareHandler<{ Variables: AuthVariables }> {
  const operatorCheck = requireRole("operator");
  return async function requireTrainerWorker(c, next) {
    const principal = c.get("principal");
    if (principal?.kind === "operator" && principal.role === "trainer") return next();
    return operatorCheck(c, next);
  };
}

/**
 * An attempt's own data stream (logs, metrics, model): its own token for exactly that run and
 * attempt (`:id`, `:n`), or a worker.
 * @example app.post("/runs/:id/attempts/:n/logs", requireAttemptWriter(), handler)
 */
export function requireAttemptWriter(): MiddlewareHandler<{ Variables: AuthVariables }> {
  const workerCheck = requireWorker();
  return async function requireOwnAttempt(c, next) {
    const principal = c.get("principal");
    if (principal?.kind !== "attempt") return workerCheck(c, next);
    if (c.req.param("id") === principal.runId && Number(c.req.param("n")) === principal.attempt)
      return next();
    throw attemptOutOfScope(principal);
  };
}

/**
 * A run's inputs (dataset content, snapshots, blobs): operators with `role`, and trainer and
 * attempt tokens, whose scope the handler checks against the blob (see run-input-scope.ts).
 */
export function allowRunInputReaders(role: Role): MiddlewareHandler<{ Variables: AuthVariables }> {
  const operatorCheck = requireRole(role);
  return async function allowRunInputReader(c, next) {
    const principal = c.get("principal");
    if (principal?.kind === "attempt") return next();
    if (principal?.kind === "operator" && principal.role === "trainer") return next();
    return operatorCheck(c, next);
  };
}

/** Allows operators with `role` and any authenticated device (blob downloads, signing key). */
export function allowDevicesOr(role: Role): MiddlewareHandler<{ Variables: AuthVariables }> {
  const operatorCheck = requireRole(role);
  return async function allowDeviceOrOperator(c, next) {
    if (c.get("principal")?.kind === "device") return next();
    return operatorCheck(c, next);
  };
}

/**
 * Authentication for the hub API. Operators send `Authorization: Bearer <token>`; the token's role
 * (viewer < operator < admin) decides what it may do. Devices send HTTP Basic `deviceId:secret` and may
 * only read blobs and the signing key.
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "./errors.js";

export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

export type Principal =
  | { kind: "operator"; tokenId: string; name: string; role: Role }
  | { kind: "device"; deviceId: string };

export interface AuthOptions {
  verifyToken(token: string): Promise<{ id: string; name: string; role: Role } | null>;
  verifyDevice(deviceId: string, secret: string): Promise<boolean>;
}

export type AuthVariables = { principal: Principal };

/** Whether a role carries at least the rights of another. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/**
 * Resolves the caller into `c.get("principal")`; refuses requests without valid credentials.
 * @example app.use("/api/v1/*", authenticate({ verifyToken, verifyDevice }))
 */
export function authenticate(options: AuthOptions): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function authenticateRequest(c, next) {
    const header = c.req.header("authorization") ?? "";
    const [scheme, value] = [
      header.slice(0, header.indexOf(" ")).toLowerCase(),
      header.slice(header.indexOf(" ") + 1),
    ];
    if (scheme === "bearer" && value) {
      const token = await options.verifyToken(value.trim());
      if (!token) throw new ApiError("unauthorized", "unknown or revoked token");
      c.set("principal", { kind: "operator", tokenId: token.id, name: token.name, role: token.role });
      return next();
    }
    if (scheme === "basic" && value) {
      const decoded = Buffer.from(value.trim(), "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      const deviceId = decoded.slice(0, colon);
      if (colon > 0 && (await options.verifyDevice(deviceId, decoded.slice(colon + 1)))) {
        c.set("principal", { kind: "device", deviceId });
        return next();
      }
      throw new ApiError("unauthorized", "wrong device id or secret");
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
    if (principal?.kind !== "operator")
      throw new ApiError("forbidden", "this route is for operators, not devices");
    if (!roleAtLeast(principal.role, role)) {
      throw new ApiError("forbidden", `this route needs the ${role} role; the token has ${principal.role}`);
    }
    return next();
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

/**
 * The audit trail middleware: after each state-changing call (any method but GET, HEAD and
 * OPTIONS), and after every refused authentication or role check on any method, it records who
 * (the principal, or the identity a refused caller claimed), the action (method and route
 * pattern), the target (the concrete path), the outcome, the status and the source address, in
 * the database and as a structured `audit` log line. A failed audit write is logged and never
 * turns a done call into an error.
 */
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Logger } from "../../lib/log.js";
import type { AuditOutcome } from "../db/schema/index.js";
import type { AuditRepo, NewAuditEntry } from "../repos/index.js";
import type { ApiEnv } from "./router.js";

const READS = new Set(["GET", "HEAD", "OPTIONS"]);

export interface AuditTrailOptions {
  audit: Pick<AuditRepo, "record">;
  log: Logger;
  /**
   * Whether a successful call stays out of the trail: a run's own data stream, already kept with
   * its attempt (worker heartbeats, log lines, metric points, empty claim polls). Refusals are
   * always recorded.
   */
  quiet?: (action: string, status: number) => boolean;
}

/** How a call ended, from its status. */
export function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return "ok";
  if (status === 401 || status === 403) return "denied";
  if (status < 500) return "refused";
  return "failed";
}

/** The caller's address as the socket saw it (null when there is no socket, as under app.request). */
function sourceOf(c: Context): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null;
  }
}

/** Who a caller that failed authentication said it was, without ever keeping a secret. */
function claimedActor(c: Context): { actor: string | null; scheme: string } {
  const header = c.req.header("authorization") ?? "";
  const space = header.indexOf(" ");
  const scheme = (space > 0 ? header.slice(0, space) : header).toLowerCase() || "none";
  if (scheme !== "basic") return { actor: null, scheme };
  const decoded = Buffer.from(header.slice(space + 1).trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return { actor: colon > 0 ? decoded.slice(0, colon) : null, scheme };
}

/**
 * Records state-changing calls and refusals of credentials or roles.
 * @example app.use("/api/v1/*", auditTrail({ audit: repos.audit, log }))
 */
export function auditTrail(options: AuditTrailOptions): MiddlewareHandler<ApiEnv> {
  return async function recordAudit(c, next) {
    await next();
    const status = c.res.status;
    const outcome = outcomeOf(status);
    if (READS.has(c.req.method) && outcome !== "denied") return;
    const action = `${c.req.method} ${routePath(c, -1)}`;
    if (outcome === "ok" && options.quiet?.(action, status)) return;
    const principal = c.get("principal");
    const entry: NewAuditEntry = {
      actorKind: principal ? principal.kind : "anonymous",
      action,
      target: c.req.path,
      outcome,
      status,
      source: sourceOf(c),
    };
    if (principal?.kind === "operator") {
      Object.assign(entry, { actor: principal.name, actorId: principal.tokenId, role: principal.role });
    } else if (principal?.kind === "device") {
      Object.assign(entry, { actor: principal.deviceId, role: "device" });
    } else if (principal?.kind === "attempt") {
      Object.assign(entry, { actor: `run ${principal.runId} attempt ${principal.attempt}`, role: "attempt" });
    } else {
      const claimed = claimedActor(c);
      Object.assign(entry, { actor: claimed.actor, details: { scheme: claimed.scheme } });
    }
    if (outcome !== "ok" && c.error) {
      entry.details = { ...entry.details, error: c.error.message.slice(0, 500) };
    }
    options.log[outcome === "ok" ? "info" : "warn"]({ event: "audit", ...entry });
    await options.audit.record(entry).catch((error: unknown) => {
      options.log.error({ event: "audit.write.failed", err: error, action, target: entry.target });
    });
  };
}

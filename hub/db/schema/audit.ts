/**
 * The audit trail: every state-changing API call and every refused authentication, with who, what,
 * on which target, the outcome and where it came from. Kept apart from telemetry: the retention
 * sweep never touches it.
 */
import { bigserial, index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Who acted: an API token (operator kinds and trainer workers), a device, a script attempt's own
 * token, or nobody we could identify.
 */
export const AUDIT_ACTOR_KINDS = ["operator", "device", "attempt", "anonymous", "system"] as const;
export type AuditActorKind = (typeof AUDIT_ACTOR_KINDS)[number];

/** How the call ended: done, refused by auth or role (401/403), or rejected or failed otherwise. */
export const AUDIT_OUTCOMES = ["ok", "denied", "refused", "failed"] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export const auditLog = pgTable(
  "audit_log",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    at: timestamp("at", { withTimezone: true }).notNull(),
    actorKind: text("actor_kind").$type<AuditActorKind>().notNull(),
    /** Token name, device id, or the id the caller claimed when authentication failed. */
    actor: text("actor"),
    /** The token's id (operators); null for devices and unidentified callers. */
    actorId: text("actor_id"),
    role: text("role"),
    /** e.g. `POST /api/v1/devices/:id/tags` (the route pattern), or `mqtt.connect`. */
    action: text("action").notNull(),
    /** The concrete thing acted on, e.g. `/api/v1/devices/d-1/tags`. */
    target: text("target"),
    outcome: text("outcome").$type<AuditOutcome>().notNull(),
    /** HTTP status, when the action was an HTTP call. */
    status: integer("status"),
    source: text("source"),
    details: jsonb("details").$type<Record<string, unknown>>(),
  },
  (t) => [index("audit_log_at_idx").on(t.at), index("audit_log_actor_at_idx").on(t.actor, t.at)],
);

/** The audit trail: append-only rows of who did what to which target, with the outcome. */
import { and, desc, eq, gte, lt, lte } from "drizzle-orm";
import { toStorableJson, toStorableText } from "../../lib/storable-text.js";
import type { Db } from "../db/database.js";
import { type AuditActorKind, type AuditOutcome, auditLog } from "../db/schema/index.js";
import { clockOf, type RepoOptions } from "./clock.js";
import { clampLimit } from "./paging.js";

export type AuditEntry = typeof auditLog.$inferSelect;

export interface NewAuditEntry {
  actorKind: AuditActorKind;
  actor?: string | null;
  actorId?: string | null;
  role?: string | null;
  action: string;
  target?: string | null;
  outcome: AuditOutcome;
  status?: number | null;
  source?: string | null;
  details?: Record<string, unknown> | null;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  outcome?: AuditOutcome;
  since?: Date;
  until?: Date;
  /** Only entries with an id below this one (the next page of a newest-first listing). */
  before?: number;
  limit?: number;
}

export interface AuditRepo {
  /** Appends one entry; text a caller chose is made storable and cut, never refused. */
  record(entry: NewAuditEntry): Promise<void>;
  /** Entries newest first; limit defaults to 100 (max 1000). */
  list(filter?: AuditFilter): Promise<AuditEntry[]>;
}

/** Audit repository over a database. */
export function auditRepo(db: Db, options?: RepoOptions): AuditRepo {
  const now = clockOf(options);
  const text = (value: string | null | undefined, max = 512) =>
    value === null || value === undefined ? null : toStorableText(value, max);
  return {
    async record(entry) {
      await db.insert(auditLog).values({
        at: now(),
        actorKind: entry.actorKind,
        actor: text(entry.actor, 256),
        actorId: text(entry.actorId, 128),
        role: text(entry.role, 32),
        action: toStorableText(entry.action, 256),
        target: text(entry.target, 1024),
        outcome: entry.outcome,
        status: entry.status ?? null,
        source: text(entry.source, 128),
        details: entry.details ? (toStorableJson(entry.details) as Record<string, unknown>) : null,
      });
    },

    async list(filter = {}) {
      return db
        .select()
        .from(auditLog)
        .where(
          and(
            filter.actor === undefined ? undefined : eq(auditLog.actor, filter.actor),
            filter.action === undefined ? undefined : eq(auditLog.action, filter.action),
            filter.outcome === undefined ? undefined : eq(auditLog.outcome, filter.outcome),
            filter.since === undefined ? undefined : gte(auditLog.at, filter.since),
            filter.until === undefined ? undefined : lte(auditLog.at, filter.until),
            filter.before === undefined ? undefined : lt(auditLog.id, filter.before),
          ),
        )
        .orderBy(desc(auditLog.id))
        .limit(clampLimit(filter.limit));
    },
  };
}

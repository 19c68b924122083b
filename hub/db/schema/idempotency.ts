/**
 * Idempotency keys of creating POSTs: the first request with a key claims it (`running`), its
 * successful answer is kept (`done`) so a retry with the same key gets that answer back instead of
 * doing the work again. Rows expire (24 h by default) and the retention sweep deletes them.
 */
import { index, integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/** A key's life: claimed by a request that is still running, or answered and kept for replay. */
export const IDEMPOTENCY_STATES = ["running", "done"] as const;
export type IdempotencyState = (typeof IDEMPOTENCY_STATES)[number];

export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    /** Who sent it: `token:<id>` or `device:<id>`; keys of different callers never meet. */
    principal: text("principal").notNull(),
    /** sha256 hex of the key: the key itself never reaches the database. */
    key: text("key").notNull(),
    /** The request the key was first used for: method, concrete path and sha256 of the body. */
    method: text("method").notNull(),
    path: text("path").notNull(),
    requestSha256: text("request_sha256").notNull(),
    state: text("state").$type<IdempotencyState>().notNull(),
    /** The stored answer (state `done`): HTTP status, content type, and the body sealed with the key. */
    responseStatus: integer("response_status"),
    responseType: text("response_type"),
    responseBody: text("response_body"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    /** Past this instant the key is forgotten: a request with it runs as new. */
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.principal, t.key] }),
    index("idempotency_keys_expires_at_idx").on(t.expiresAt),
  ],
);

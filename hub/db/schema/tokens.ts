/** Operator API tokens. Only a sha256 of the secret is stored; the secret is shown once at creation. */
import { index, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Roles an API token can carry: admin > operator > viewer, each with the rights of the next, and
 * `trainer`, outside that order: the worker protocol only (register, claim, heartbeat, the
 * attempt calls and the inputs of running runs), for trainer workers.
 */
export const TOKEN_ROLES = ["admin", "operator", "viewer", "trainer"] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

export const apiTokens = pgTable(
  "api_tokens",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    role: text("role").$type<TokenRole>().notNull(),
    /** sha256 hex of the secret: tokens are high-entropy, so a fast hash is enough and lookups stay indexed. */
    tokenHash: text("token_hash").notNull().unique(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    /** Past this instant the token is refused; null never expires. */
    expiresAt: timestamp("expires_at", { withTimezone: true }),
  },
  (t) => [index("api_tokens_created_at_idx").on(t.createdAt)],
);

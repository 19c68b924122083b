/** Devices: identity and credentials, plus the hub's last view of status, reported and desired state. */
import { boolean, index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import type { Capabilities, DesiredState, ReportedState, Status } from "../../../wire/messages.js";

export const devices = pgTable(
  "devices",
  {
    /** DNS-label-like (DEVICE_ID_PATTERN in wire/topics.ts) so it is safe in topics and URLs. */
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    tags: jsonb("tags").$type<Record<string, string>>().notNull().default({}),
    profile: text("profile"),
    /** `scrypt$N$r$p$salt$hash` (base64 salt and hash); see hub/repos/secret-hash.ts. */
    secretHash: text("secret_hash").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    /** Set while an operator has disabled the device: its secret and certificate are refused. */
    disabledAt: timestamp("disabled_at", { withTimezone: true }),
    /**
     * sha256 (hex, of the DER) of the one client certificate the hub issued and accepts for this
     * device; null when it has none (a secret only, or a certificate from a registered external CA).
     */
    certSha256: text("cert_sha256"),
    /** When that certificate expires. */
    certNotAfter: timestamp("cert_not_after", { withTimezone: true }),
    online: boolean("online").notNull().default(false),
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true }),
    agentVersion: text("agent_version"),
    capabilities: jsonb("capabilities").$type<Capabilities>(),
    /** The last `status` message as received. */
    status: jsonb("status").$type<Status>(),
    /** The last `reported` message as received. */
    reported: jsonb("reported").$type<ReportedState>(),
    reportedAt: timestamp("reported_at", { withTimezone: true }),
    /** The full DesiredState last published; its revision equals desired_revision. */
    desired: jsonb("desired").$type<DesiredState>(),
    desiredRevision: integer("desired_revision").notNull().default(0),
  },
  // GIN so selector queries (`tags @> '{"site":"a"}'`) stay fast on large fleets.
  (t) => [index("devices_tags_idx").using("gin", t.tags)],
);

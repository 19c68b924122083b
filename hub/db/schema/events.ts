/** Device events: deployment progress and errors for the operator's timeline. */
import { bigserial, index, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

export const deviceEvents = pgTable(
  "device_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    deviceId: text("device_id").notNull(),
    kind: text("kind").notNull(),
    module: text("module"),
    version: text("version"),
    message: text("message").notNull(),
    details: jsonb("details").$type<Record<string, unknown>>(),
    at: timestamp("at", { withTimezone: true }).notNull(),
  },
  (t) => [index("device_events_device_at_idx").on(t.deviceId, t.at)],
);

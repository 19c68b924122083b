/** Telemetry: one row per (device, epoch, window seq, module); the drift monitor and dashboards read these. */
import {
  bigserial,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  unique,
} from "drizzle-orm/pg-core";
import type { ModuleWindow } from "../../../wire/messages.js";

export const telemetryWindows = pgTable(
  "telemetry_windows",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    deviceId: text("device_id").notNull(),
    seq: integer("seq").notNull(),
    /** The agent run that numbered `seq` ([WIRE-5.5]); "" for agents that send none. */
    epoch: text("epoch").notNull().default(""),
    module: text("module").notNull(),
    moduleVersion: text("module_version").notNull(),
    windowStart: timestamp("window_start", { withTimezone: true }).notNull(),
    windowEnd: timestamp("window_end", { withTimezone: true }).notNull(),
    requests: integer("requests").notNull(),
    errors: integer("errors").notNull(),
    latencySumMs: doublePrecision("latency_sum_ms").notNull(),
    /** The ModuleWindow as received (histograms and input summaries). */
    payload: jsonb("payload").$type<ModuleWindow>().notNull(),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull(),
  },
  (t) => [
    // QoS 1 may deliver a window twice; inserts use ON CONFLICT DO NOTHING on this key.
    unique("telemetry_windows_dedupe_uq").on(t.deviceId, t.epoch, t.seq, t.module),
    index("telemetry_windows_module_end_idx").on(t.module, t.windowEnd),
    index("telemetry_windows_device_end_idx").on(t.deviceId, t.windowEnd),
  ],
);

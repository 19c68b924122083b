/**
 * Drift monitoring (issue 6): device drift summaries and sampled rows, monitors with their
 * evaluation history, alerts with webhook delivery state, and retraining cycles with their steps.
 * Summaries are stored apart from `telemetry_windows` so a cohort query reads only bin counts.
 */
import {
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  unique,
} from "drizzle-orm/pg-core";
import type { DriftSummary } from "../../../drift-summary/summary.js";
import type { DeploymentSelector } from "./deployments.js";

/** One device's drift summary of one module version over one telemetry window (wire DriftSummary). */
export const driftSummaries = pgTable(
  "drift_summaries",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    deviceId: text("device_id").notNull(),
    /** The telemetry window's sequence number (per device). */
    seq: integer("seq").notNull(),
    /** The agent run that numbered `seq` ([WIRE-5.5]); "" for agents that send none. */
    epoch: text("epoch").notNull().default(""),
    module: text("module").notNull(),
    moduleVersion: text("module_version").notNull(),
    baselineId: text("baseline_id").notNull(),
    rows: integer("rows").notNull(),
    windowStart: timestamp("window_start", { withTimezone: true }).notNull(),
    windowEnd: timestamp("window_end", { withTimezone: true }).notNull(),
    /** The DriftSummary as received: bin counts and sums per column and output. */
    summary: jsonb("summary").$type<DriftSummary>().notNull(),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull(),
  },
  (t) => [
    // QoS 1 redeliveries are dropped like telemetry windows.
    unique("drift_summaries_dedupe_uq").on(t.deviceId, t.epoch, t.seq, t.module),
    index("drift_summaries_cohort_idx").on(t.module, t.moduleVersion, t.deviceId, t.windowEnd),
  ],
);

/** Raw rows a device sent because the hub asked (collect-samples), joined with feedback labels. */
export const driftSamples = pgTable(
  "drift_samples",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    deviceId: text("device_id").notNull(),
    module: text("module").notNull(),
    moduleVersion: text("module_version").notNull(),
    /** The prediction id the agent gave the row (feedback names it). */
    sampleId: text("sample_id").notNull(),
    /** Feature values by name (tabular) or input tensors, as the device sent them. */
    inputs: jsonb("inputs").$type<Record<string, unknown>>().notNull(),
    outputs: jsonb("outputs").$type<unknown>(),
    /** Ground truth from the device's feedback route (class name or number), when it arrived. */
    label: jsonb("label").$type<string | number>(),
    at: timestamp("at", { withTimezone: true }).notNull(),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull(),
  },
  (t) => [
    unique("drift_samples_device_sample_uq").on(t.deviceId, t.module, t.sampleId),
    index("drift_samples_module_at_idx").on(t.module, t.at),
  ],
);

/** Statistical settings of a monitor (hub/monitors/spec.ts documents each). */
export interface MonitorSettings {
  /** Family-wise error rate across columns and scales (Holm). */
  alpha: number;
  /** Window counts the cohort is tested over, e.g. [1, 4, 16]. */
  scales: number[];
  /** Rows a scale needs before it is tested; fewer → skipped. */
  minRows: number;
  /** Also alarm on outputs (prediction drift). */
  includeOutputs: boolean;
  /** Optional fixed score thresholds (otherwise calibrated on the reference). */
  thresholds?: { js?: number; psi?: number; wasserstein?: number };
}

export interface RetrainSettings {
  /** Dataset the champion was trained on ("latest" version is used, plus the collected rows). */
  dataset: string;
  /** Recipe; absent: the champion's lineage recipe. */
  recipe?: string;
  params?: Record<string, unknown>;
  /** Registered model; absent: the module's source model. */
  model?: string;
  /** The challenger must beat the champion's accuracy (or lower its RMSE) by at least this much. */
  margin: number;
  /** Labelled samples to wait for before training. */
  minLabelled: number;
  /** Most rows per window each device sends. */
  samplesPerWindow: number;
  /** Windows a device keeps sampling for. */
  sampleWindows: number;
  /** Longest a cycle waits for labelled samples (ms) before it gives up. */
  collectTimeoutMs: number;
  /**
   * While the monitor stays in drift, another cycle starts this long (ms) after the last one
   * ended; absent on monitors stored before it existed (MONITOR_DEFAULTS.retryAfterMs applies).
   */
  retryAfterMs?: number;
  /** Canary of the new module version (deployments API fields). */
  canary: { count?: number; percent?: number; bakeMs?: number };
}

export type MonitorAction = { kind: "alert" } | { kind: "retrain"; retrain: RetrainSettings };

export const monitors = pgTable("monitors", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  module: text("module").notNull(),
  /** Module version watched; a retraining cycle moves it to the version it deploys. */
  moduleVersion: text("module_version").notNull(),
  selector: jsonb("selector").$type<DeploymentSelector>().notNull(),
  settings: jsonb("settings").$type<MonitorSettings>().notNull(),
  intervalMs: integer("interval_ms").notNull(),
  action: jsonb("action").$type<MonitorAction>().notNull(),
  webhook: jsonb("webhook").$type<{ url: string }>(),
  enabled: boolean("enabled").notNull().default(true),
  /** ok | drift | no-data: the last evaluation's verdict; an alert fires on the way into drift. */
  state: text("state").notNull().default("no-data"),
  nextRunAt: timestamp("next_run_at", { withTimezone: true }).notNull(),
  lastEvaluatedAt: timestamp("last_evaluated_at", { withTimezone: true }),
  createdBy: text("created_by").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull(),
});

/** One evaluation of a monitor: the compact report per scale (scores, p-values, thresholds). */
export const monitorEvaluations = pgTable(
  "monitor_evaluations",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    monitorId: text("monitor_id")
      .notNull()
      .references(() => monitors.id, { onDelete: "cascade" }),
    at: timestamp("at", { withTimezone: true }).notNull(),
    moduleVersion: text("module_version").notNull(),
    /** ok | drift | no-data */
    verdict: text("verdict").notNull(),
    /** Rows in the smallest scale tested (1 window per device). */
    rows: integer("rows").notNull(),
    devices: integer("devices").notNull(),
    /** End of the newest window included. */
    windowEnd: timestamp("window_end", { withTimezone: true }),
    report: jsonb("report").$type<Record<string, unknown>>().notNull(),
  },
  (t) => [index("monitor_evaluations_monitor_at_idx").on(t.monitorId, t.at)],
);

export const alerts = pgTable(
  "alerts",
  {
    id: text("id").primaryKey(),
    monitorId: text("monitor_id")
      .notNull()
      .references(() => monitors.id, { onDelete: "cascade" }),
    evaluationId: integer("evaluation_id"),
    at: timestamp("at", { withTimezone: true }).notNull(),
    message: text("message").notNull(),
    details: jsonb("details").$type<Record<string, unknown>>().notNull(),
    /** none (no webhook) | pending | delivered | failed */
    webhookStatus: text("webhook_status").notNull(),
    webhookAttempts: integer("webhook_attempts").notNull().default(0),
    webhookError: text("webhook_error"),
    deliveredAt: timestamp("delivered_at", { withTimezone: true }),
  },
  (t) => [index("alerts_monitor_at_idx").on(t.monitorId, t.at)],
);

/** One retraining cycle started by a monitor: collect → train → compare → package → canary. */
export const retrainingCycles = pgTable(
  "retraining_cycles",
  {
    id: text("id").primaryKey(),
    monitorId: text("monitor_id")
      .notNull()
      .references(() => monitors.id, { onDelete: "cascade" }),
    alertId: text("alert_id"),
    /** collecting | training | evaluating | packaging | deploying | canary, then succeeded | rejected | failed | rolled-back | aborted (repos/retraining.ts) */
    status: text("status").notNull(),
    /** What the cycle has produced so far (run id, challenger version, module version, deployment). */
    state: jsonb("state").$type<Record<string, unknown>>().notNull(),
    error: text("error"),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    /** The hub process (retraining driver) that may step the cycle until `leaseUntil`. */
    leaseOwner: text("lease_owner"),
    leaseUntil: timestamp("lease_until", { withTimezone: true }),
  },
  (t) => [index("retraining_cycles_monitor_idx").on(t.monitorId, t.startedAt)],
);

/** The steps of a cycle, in order: what happened, when, with details. */
export const retrainingEvents = pgTable(
  "retraining_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    cycleId: text("cycle_id")
      .notNull()
      .references(() => retrainingCycles.id, { onDelete: "cascade" }),
    monitorId: text("monitor_id").notNull(),
    step: text("step").notNull(),
    status: text("status").notNull(),
    message: text("message").notNull(),
    details: jsonb("details").$type<Record<string, unknown>>(),
    at: timestamp("at", { withTimezone: true }).notNull(),
  },
  (t) => [index("retraining_events_monitor_idx").on(t.monitorId, t.id)],
);

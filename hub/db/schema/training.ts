/**
 * Training: dataset versions (bytes in the blob store, sha256 = version), runs (queued jobs with
 * their resolved spec), one row per attempt (a worker's lease on a run), metrics and log lines
 * per attempt, and the trainer workers that claim runs. See hub/jobs/README.md.
 */
import {
  bigint,
  bigserial,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
} from "drizzle-orm/pg-core";

/** A column of a dataset version as the API shows it (kind as inferred or overridden, stats). */
export interface DatasetColumnInfo {
  name: string;
  kind: string;
  note?: string;
  stats?: unknown;
}

export const datasetVersions = pgTable(
  "dataset_versions",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    name: text("name").notNull(),
    /** sha256 of the uploaded bytes; also the blob that holds them. */
    version: text("version").notNull(),
    format: text("format").$type<"csv" | "jsonl">().notNull(),
    bytes: bigint("bytes", { mode: "number" }).notNull(),
    rows: integer("rows").notNull(),
    target: text("target"),
    task: text("task").$type<"classification" | "regression">(),
    /** Kind overrides given at upload (`col → kind`). */
    overrides: jsonb("overrides").$type<Record<string, string>>().notNull().default({}),
    columns: jsonb("columns").$type<DatasetColumnInfo[]>().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
  },
  (t) => [
    unique("dataset_versions_name_version_uq").on(t.name, t.version),
    index("dataset_versions_name_created_idx").on(t.name, t.createdAt),
  ],
);

import type { AttemptStatus, RunStatus, WorkerCapabilities } from "../../../hub-api/training.js";

export {
  ATTEMPT_STATUSES,
  type AttemptStatus,
  RUN_STATUSES,
  type RunStatus,
  type WorkerCapabilities,
} from "../../../hub-api/training.js";

/** Why a run or attempt ended badly. */
export interface RunError {
  code: string;
  message: string;
  details?: unknown;
}

export const runs = pgTable(
  "runs",
  {
    id: text("id").primaryKey(),
    experiment: text("experiment").notNull(),
    status: text("status").$type<RunStatus>().notNull(),
    /** The submitted body, resolved (dataset version as sha256, defaults filled in). */
    spec: jsonb("spec").$type<Record<string, unknown>>().notNull(),
    /** "builtin" or "script": which workers may claim it. */
    kind: text("kind").$type<"builtin" | "script">().notNull(),
    /** Number of the current (or last) attempt; 0 before the first claim. */
    attempt: integer("attempt").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull(),
    metrics: jsonb("metrics").$type<Record<string, unknown>>().notNull().default({}),
    outputs: jsonb("outputs").$type<Record<string, unknown>>().notNull().default({}),
    error: jsonb("error").$type<RunError>(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    index("runs_status_created_idx").on(t.status, t.createdAt),
    index("runs_experiment_created_idx").on(t.experiment, t.createdAt),
  ],
);

export const runAttempts = pgTable(
  "run_attempts",
  {
    runId: text("run_id")
      .notNull()
      .references(() => runs.id, { onDelete: "cascade" }),
    n: integer("n").notNull(),
    workerId: text("worker_id").notNull(),
    status: text("status").$type<AttemptStatus>().notNull(),
    leaseExpiresAt: timestamp("lease_expires_at", { withTimezone: true }).notNull(),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    error: jsonb("error").$type<RunError>(),
    /**
     * sha256 hex of the attempt's own bearer token (handed to its script): valid only while this
     * attempt runs under a live lease, for its own run's logs, metrics, model and inputs.
     */
    tokenHash: text("token_hash"),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.n] }),
    uniqueIndex("run_attempts_token_hash_idx").on(t.tokenHash),
    index("run_attempts_status_lease_idx").on(t.status, t.leaseExpiresAt),
    index("run_attempts_worker_idx").on(t.workerId, t.status),
  ],
);

export const runMetrics = pgTable(
  "run_metrics",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    runId: text("run_id")
      .notNull()
      .references(() => runs.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    name: text("name").notNull(),
    step: integer("step").notNull(),
    value: doublePrecision("value").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull(),
  },
  (t) => [index("run_metrics_run_idx").on(t.runId, t.name, t.step)],
);

export const runLogs = pgTable(
  "run_logs",
  {
    /** Global sequence: a run's lines in order, and the `after` cursor of the logs route. */
    seq: bigserial("seq", { mode: "number" }).primaryKey(),
    runId: text("run_id")
      .notNull()
      .references(() => runs.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    stream: text("stream").$type<"stdout" | "stderr" | "system">().notNull(),
    text: text("text").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull(),
  },
  (t) => [index("run_logs_run_seq_idx").on(t.runId, t.seq)],
);

export const workers = pgTable("workers", {
  /** Chosen and persisted by the worker. */
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  capabilities: jsonb("capabilities").$type<WorkerCapabilities>().notNull(),
  registeredAt: timestamp("registered_at", { withTimezone: true }).notNull(),
  lastSeenAt: timestamp("last_seen_at", { withTimezone: true }).notNull(),
});

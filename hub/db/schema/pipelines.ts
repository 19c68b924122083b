/**
 * Pipelines: one row per pipeline run (the spec as submitted, resolved; its status and, when it
 * failed, which step and why) and one row per step of it, with the hash of the step's inputs, what
 * the step produced and, for a reused step, the earlier step whose output it took. See
 * hub/pipelines/README.md.
 */
import { index, integer, jsonb, pgTable, text, timestamp, unique } from "drizzle-orm/pg-core";
import type { PipelineStatus, StepKind, StepStatus } from "../../../hub-api/pipelines.js";

export {
  PIPELINE_STATUSES,
  type PipelineStatus,
  STEP_KINDS,
  STEP_STATUSES,
  type StepKind,
  type StepStatus,
} from "../../../hub-api/pipelines.js";

export const pipelineRuns = pgTable(
  "pipeline_runs",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** The spec as validated (defaults filled in), so a resumed run does the same thing. */
    spec: jsonb("spec").$type<Record<string, unknown>>().notNull(),
    status: text("status").$type<PipelineStatus>().notNull(),
    /** The step that failed (only when status is failed). */
    failedStep: text("failed_step").$type<StepKind>(),
    error: text("error"),
    createdBy: text("created_by").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    index("pipeline_runs_name_created_idx").on(t.name, t.createdAt),
    index("pipeline_runs_status_idx").on(t.status),
  ],
);

export const pipelineSteps = pgTable(
  "pipeline_steps",
  {
    id: text("id").primaryKey(),
    pipelineRunId: text("pipeline_run_id")
      .notNull()
      .references(() => pipelineRuns.id, { onDelete: "cascade" }),
    kind: text("kind").$type<StepKind>().notNull(),
    /** Order in the chain (dataset 0 … deploy 5). */
    position: integer("position").notNull(),
    status: text("status").$type<StepStatus>().notNull(),
    /** sha256 of the canonical JSON of `inputs`; set when the step starts. */
    inputsHash: text("inputs_hash"),
    inputs: jsonb("inputs").$type<Record<string, unknown>>(),
    output: jsonb("output").$type<Record<string, unknown>>(),
    /** What a step in flight has started outside the pipeline (a training run's id), to adopt on resume. */
    progress: jsonb("progress").$type<Record<string, unknown>>(),
    /** For a reused step: the step (and its pipeline run) that computed the output. */
    reusedStepId: text("reused_step_id"),
    reusedPipelineRunId: text("reused_pipeline_run_id"),
    error: text("error"),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    unique("pipeline_steps_run_kind_uq").on(t.pipelineRunId, t.kind),
    index("pipeline_steps_reuse_idx").on(t.kind, t.inputsHash, t.status),
  ],
);

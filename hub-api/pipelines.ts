/**
 * The pipeline API's shared vocabulary (hub/pipelines/README.md): run and step statuses, step
 * kinds, and the hub's answers (a pipeline run with its steps) as zod schemas. The hub's tables,
 * its OpenAPI responses, the CLI and the tests all take these, so the shapes cannot drift apart.
 */
import { z } from "zod";

export const PIPELINE_STATUSES = ["running", "completed", "failed"] as const;
export type PipelineStatus = (typeof PIPELINE_STATUSES)[number];

export const STEP_STATUSES = [
  "pending",
  "running",
  /** Computed by this pipeline run. */
  "completed",
  /** An earlier step with the same inputs hash produced the output; nothing was recomputed. */
  "reused",
  "failed",
  /** Not run because a step it depends on failed. */
  "skipped",
] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export const STEP_KINDS = ["dataset", "train", "evaluate", "quantize", "package", "deploy"] as const;
export type StepKind = (typeof STEP_KINDS)[number];

const Timestamp = z.iso.datetime().meta({ description: "ISO 8601 timestamp, UTC" });
const Fields = z.record(z.string(), z.unknown());

export const PipelineStepSchema = z
  .object({
    kind: z.enum(STEP_KINDS),
    status: z.enum(STEP_STATUSES),
    inputsHash: z.string().nullable().meta({ description: "sha256 of the step's canonical inputs" }),
    inputs: Fields.nullable(),
    output: Fields.nullable(),
    reused: z
      .object({ step: z.string(), pipelineRun: z.string() })
      .nullable()
      .meta({ description: "for a reused step: the step and pipeline run that computed the output" }),
    error: z.string().nullable(),
    startedAt: Timestamp.nullable(),
    finishedAt: Timestamp.nullable(),
  })
  .meta({ id: "PipelineStep" });
export type PipelineStepView = z.infer<typeof PipelineStepSchema>;

export const PipelineRunSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    status: z.enum(PIPELINE_STATUSES),
    failedStep: z.enum(STEP_KINDS).nullable(),
    error: z.string().nullable(),
    createdBy: z.string(),
    createdAt: Timestamp,
    finishedAt: Timestamp.nullable(),
    spec: Fields,
    steps: z.array(PipelineStepSchema),
  })
  .meta({ id: "PipelineRun" });
/** A pipeline run with its spec and steps (`GET /api/v1/pipelines/{id}`, `POST /api/v1/pipelines`). */
export type PipelineRunView = z.infer<typeof PipelineRunSchema>;

export const PipelineRunSummarySchema = PipelineRunSchema.omit({ spec: true, steps: true }).meta({
  id: "PipelineRunSummary",
});
/** A pipeline run as `GET /api/v1/pipelines` lists it (no spec, no steps). */
export type PipelineRunSummaryView = z.infer<typeof PipelineRunSummarySchema>;

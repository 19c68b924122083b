/** What the pipeline routes answer: a pipeline run with its steps, each with its inputs hash and what it reused. */
import { z } from "zod";
import { PIPELINE_STATUSES, STEP_KINDS, STEP_STATUSES } from "../../db/schema/pipelines.js";
import { MaybeTimestamp, ParamsSchema, Timestamp } from "./common.js";

export const PipelineStepSchema = z
  .object({
    kind: z.enum(STEP_KINDS),
    status: z.enum(STEP_STATUSES),
    inputsHash: z.string().nullable().meta({ description: "sha256 of the step's canonical inputs" }),
    inputs: ParamsSchema.nullable(),
    output: ParamsSchema.nullable(),
    reused: z
      .object({ step: z.string(), pipelineRun: z.string() })
      .nullable()
      .meta({ description: "for a reused step: the step and pipeline run that computed the output" }),
    error: z.string().nullable(),
    startedAt: MaybeTimestamp,
    finishedAt: MaybeTimestamp,
  })
  .meta({ id: "PipelineStep" });

export const PipelineRunSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    status: z.enum(PIPELINE_STATUSES),
    failedStep: z.enum(STEP_KINDS).nullable(),
    error: z.string().nullable(),
    createdBy: z.string(),
    createdAt: Timestamp,
    finishedAt: MaybeTimestamp,
    spec: ParamsSchema,
    steps: z.array(PipelineStepSchema),
  })
  .meta({ id: "PipelineRun" });

export const PipelineRunSummarySchema = PipelineRunSchema.omit({ spec: true, steps: true }).meta({
  id: "PipelineRunSummary",
});

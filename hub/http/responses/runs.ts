/** What the run and worker routes answer: runs with their attempts, experiments, metric series, log lines, workers. */
import { z } from "zod";
import { ATTEMPT_STATUSES, ClaimSchema, RUN_STATUSES } from "../../../hub-api/training.js";
import { Timestamp } from "./common.js";

export const RunErrorSchema = z
  .object({
    code: z.string(),
    message: z.string(),
    details: z
      .unknown()
      .optional()
      .meta({ description: "the failure's own fields (exit code, log tail, HTTP status)" }),
  })
  .meta({ id: "RunError", description: "why a run or an attempt ended badly" });

export const AttemptSchema = z
  .object({
    n: z.number().int(),
    workerId: z.string(),
    status: z.enum(ATTEMPT_STATUSES),
    leaseExpiresAt: Timestamp.optional(),
    startedAt: Timestamp.optional(),
    finishedAt: Timestamp.optional(),
    error: RunErrorSchema.optional(),
  })
  .meta({ id: "RunAttempt", description: "a worker's lease on a run" });

const FreeForm = (description: string) => z.record(z.string(), z.unknown()).meta({ description });

export const RunSchema = z
  .object({
    id: z.string(),
    experiment: z.string(),
    status: z.enum(RUN_STATUSES),
    kind: z.enum(["builtin", "script"]),
    spec: FreeForm("the submitted body, resolved: dataset version as sha256, defaults filled in"),
    attempts: z.array(AttemptSchema),
    attempt: z
      .number()
      .int()
      .meta({ description: "the current (or last) attempt; 0 before the first claim" }),
    maxAttempts: z.number().int(),
    metrics: FreeForm("metrics per split as the worker reported them and the hub measured them"),
    outputs: FreeForm("what the run produced: the registered model version, the leaderboard of an auto run"),
    error: RunErrorSchema.optional(),
    progress: FreeForm("the current attempt's latest progress report (iteration, of, phase)").optional(),
    createdAt: Timestamp.optional(),
    startedAt: Timestamp.optional(),
    finishedAt: Timestamp.optional(),
    durationMs: z.number().optional(),
  })
  .meta({ id: "Run" });

export const ExperimentSchema = z
  .object({
    name: z.string(),
    runs: z.number().int(),
    lastRunAt: Timestamp,
    best: z
      .object({ run: z.string(), metrics: z.unknown().meta({ description: "the best run's metrics" }) })
      .optional(),
  })
  .meta({ id: "Experiment" });

export const MetricPointSchema = z
  .object({ step: z.number().int(), value: z.number(), at: Timestamp, attempt: z.number().int() })
  .meta({ id: "MetricPoint" });

export const LogLineSchema = z
  .object({
    seq: z.number().int(),
    attempt: z.number().int(),
    stream: z.enum(["stdout", "stderr", "system"]),
    text: z.string(),
    at: Timestamp,
  })
  .meta({ id: "LogLine" });

export const WorkerSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    capabilities: z.object({
      cpus: z.number(),
      memoryMb: z.number().int(),
      gpus: z.array(z.object({ index: z.number().int(), name: z.string(), memoryMb: z.number() })),
      labels: z.record(z.string(), z.string()),
      kinds: z.array(z.enum(["builtin", "script"])),
      version: z.string(),
    }),
    status: z.enum(["offline", "busy", "idle"]),
    lastSeenAt: Timestamp.optional(),
    currentRun: z.string().optional(),
  })
  .meta({ id: "Worker" });

/** The worker protocol's claim (hub-api/training.ts), as the hub sends it. */
export const ClaimResponseSchema = ClaimSchema.meta({ id: "Claim" });

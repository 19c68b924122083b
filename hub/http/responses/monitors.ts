/**
 * What the monitor, alert and retraining routes answer: monitors as stored (settings, action,
 * webhook), their evaluations, the plot series of one column, alerts with webhook delivery state,
 * and retraining cycles with their steps. Settings and action reuse the request's own schemas, so
 * what is accepted and what is answered cannot drift apart.
 */
import { z } from "zod";
import { MonitorBodySchema, RetrainSchema } from "../../monitors/spec.js";
import { CYCLE_STATUSES } from "../../repos/retraining.js";
import { MaybeTimestamp, Timestamp } from "./common.js";

const VERDICTS = "ok | drift | no-data";

export const MonitorSettingsSchema = MonitorBodySchema.pick({
  alpha: true,
  scales: true,
  minRows: true,
  includeOutputs: true,
  thresholds: true,
}).meta({ id: "MonitorSettings", description: "the statistical settings the monitor tests with" });

/** The retrain settings as stored: older monitors have no retryAfterMs, and the recipe is kept as given. */
const StoredRetrainSchema = RetrainSchema.extend({
  recipe: z.string().optional().meta({ description: "absent: the champion's lineage recipe" }),
  retryAfterMs: z
    .number()
    .int()
    .optional()
    .meta({ description: "absent on monitors stored before it existed: the default (24 h) applies" }),
});

export const MonitorActionSchema = z
  .discriminatedUnion("kind", [
    z.object({ kind: z.literal("alert") }),
    z.object({ kind: z.literal("retrain"), retrain: StoredRetrainSchema }),
  ])
  .meta({ id: "MonitorAction" });

export const MonitorSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    module: z.string(),
    moduleVersion: z.string().meta({ description: "the version watched; a retraining cycle moves it" }),
    selector: MonitorBodySchema.shape.selector,
    settings: MonitorSettingsSchema,
    intervalMs: z.number().int(),
    action: MonitorActionSchema,
    webhook: z.object({ url: z.string() }).nullable(),
    enabled: z.boolean(),
    state: z.string().meta({ description: `the last evaluation's verdict: ${VERDICTS}` }),
    nextRunAt: Timestamp,
    lastEvaluatedAt: MaybeTimestamp,
    createdBy: z.string(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: "Monitor" });

export const MonitorEvaluationSchema = z
  .object({
    id: z.number().int(),
    monitorId: z.string(),
    at: Timestamp,
    moduleVersion: z.string(),
    verdict: z.string().meta({ description: VERDICTS }),
    rows: z.number().int().meta({ description: "rows in the smallest scale tested" }),
    devices: z.number().int(),
    windowEnd: MaybeTimestamp.meta({ description: "end of the newest window included" }),
    report: z.record(z.string(), z.unknown()).meta({
      description:
        "the compact report: fired columns, per column the tests at each scale with scores and thresholds, data quality, the scales' windows and rows",
    }),
  })
  .meta({ id: "MonitorEvaluation" });

export const MonitorWithLatestSchema = MonitorSchema.extend({
  latestEvaluation: MonitorEvaluationSchema.nullable(),
}).meta({ id: "MonitorWithLatestEvaluation" });

export const AlertSchema = z
  .object({
    id: z.string(),
    monitorId: z.string(),
    evaluationId: z.number().int().nullable(),
    at: Timestamp,
    message: z.string(),
    details: z.record(z.string(), z.unknown()).meta({
      description: "the monitor, module and version, the columns that fired and at which scales",
    }),
    webhookStatus: z.string().meta({ description: "none (no webhook) | pending | delivered | failed" }),
    webhookAttempts: z.number().int(),
    webhookError: z.string().nullable(),
    deliveredAt: MaybeTimestamp,
  })
  .meta({ id: "Alert" });

export const EvaluateResultSchema = z
  .object({ evaluation: MonitorEvaluationSchema, alert: AlertSchema.nullable() })
  .meta({ id: "MonitorEvaluateResult" });

const TestResultSchema = z.object({ statistic: z.number(), pValue: z.number(), df: z.number().optional() });
const DistanceSchema = z.object({ js: z.number(), psi: z.number(), wasserstein: z.number().optional() });

/** One evaluation of one column (hub/monitors/verdict.ts CompactColumn; hub/drift/report.ts ColumnDrift). */
export const SeriesPointSchema = z
  .object({
    at: Timestamp,
    windowEnd: MaybeTimestamp,
    verdict: z.string(),
    drifted: z.boolean(),
    fired: z
      .array(z.object({ windows: z.number().int(), test: z.enum(["ks", "chi2"]), pValue: z.number() }))
      .meta({ description: "which (scale, test) rejected under Holm, smallest scale first" }),
    scales: z.array(
      z.object({
        windows: z.number().int(),
        rows: z.number().int(),
        tests: z.object({ ks: TestResultSchema.optional(), chi2: TestResultSchema.optional() }),
      }),
    ),
    scores: DistanceSchema,
    thresholds: DistanceSchema.nullable(),
    exceeded: z
      .array(z.enum(["js", "psi", "wasserstein"]))
      .meta({ description: "scores above their thresholds (secondary evidence)" }),
  })
  .meta({ id: "MonitorSeriesPoint" });

export const SeriesSchema = z
  .object({ monitor: z.string(), column: z.string(), alpha: z.number(), points: z.array(SeriesPointSchema) })
  .meta({ id: "MonitorSeries" });

export const RetrainingEventSchema = z
  .object({
    id: z.number().int(),
    cycleId: z.string(),
    monitorId: z.string(),
    step: z.string(),
    status: z.string(),
    message: z.string(),
    details: z
      .record(z.string(), z.unknown())
      .nullable()
      .meta({ description: "what the step produced or why it failed (run id, versions, devices)" }),
    at: Timestamp,
  })
  .meta({ id: "RetrainingEvent" });

export const RetrainingCycleSchema = z
  .object({
    id: z.string(),
    monitorId: z.string(),
    alertId: z.string().nullable(),
    status: z.string().meta({ description: CYCLE_STATUSES.join(" | ") }),
    state: z.record(z.string(), z.unknown()).meta({
      description:
        "what the cycle has produced so far: run id, champion and challenger versions, module, deployment",
    }),
    error: z.string().nullable(),
    startedAt: Timestamp,
    updatedAt: Timestamp,
    finishedAt: MaybeTimestamp,
    leaseOwner: z.string().nullable().meta({ description: "the hub process stepping the cycle" }),
    leaseUntil: MaybeTimestamp,
  })
  .meta({ id: "RetrainingCycle" });

export const RetrainingCycleWithStepsSchema = RetrainingCycleSchema.extend({
  steps: z.array(RetrainingEventSchema),
}).meta({ id: "RetrainingCycleWithSteps" });

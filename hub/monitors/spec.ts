/**
 * A monitor definition as the API accepts it (`POST /api/v1/monitors`), with defaults, and its
 * conversion to the stored settings. Pure; the service checks what needs the database (module
 * version exists and has a monitoring spec, dataset exists, selector matches devices).
 */
import { z } from "zod";
import { ModuleNameSchema } from "../../modules/manifest.js";
import type { MonitorAction, MonitorSettings, RetrainSettings } from "../db/schema/drift.js";
import { SelectorSchema } from "../fleet/selector.js";

/** Defaults of a monitor; hub/monitors/README.md explains each. */
export const MONITOR_DEFAULTS = {
  alpha: 0.005,
  scales: [1, 4, 16],
  minRows: 100,
  intervalMs: 60_000,
  margin: 0.02,
  minLabelled: 50,
  samplesPerWindow: 20,
  sampleWindows: 5,
  collectTimeoutMs: 60 * 60_000,
  retryAfterMs: 24 * 3_600_000,
  canary: { count: 1, bakeMs: 5 * 60_000 },
} as const;

const Canary = z
  .object({
    count: z.number().int().positive().optional(),
    percent: z.number().gt(0).lt(100).optional(),
    bakeMs: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3_600_000)
      .optional(),
  })
  .strict()
  .refine((c) => !(c.count !== undefined && c.percent !== undefined), {
    message: "a canary is either count or percent, not both",
  });

export const RetrainSchema = z
  .object({
    dataset: ModuleNameSchema,
    recipe: z.enum(["logistic", "ridge", "mlp", "gbt", "forest", "auto"]).optional(),
    params: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "the recipe's hyperparameters, passed as given" }),
    model: ModuleNameSchema.optional(),
    margin: z.number().min(0).max(1).default(MONITOR_DEFAULTS.margin),
    minLabelled: z.number().int().min(1).max(100_000).default(MONITOR_DEFAULTS.minLabelled),
    samplesPerWindow: z.number().int().min(1).max(1000).default(MONITOR_DEFAULTS.samplesPerWindow),
    sampleWindows: z.number().int().min(1).max(1000).default(MONITOR_DEFAULTS.sampleWindows),
    collectTimeoutMs: z
      .number()
      .int()
      .min(1_000)
      .max(30 * 24 * 3_600_000)
      .default(MONITOR_DEFAULTS.collectTimeoutMs),
    retryAfterMs: z
      .number()
      .int()
      .min(1_000)
      .max(30 * 24 * 3_600_000)
      .default(MONITOR_DEFAULTS.retryAfterMs),
    canary: Canary.default(MONITOR_DEFAULTS.canary),
  })
  .strict();

export const ActionSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("alert") }).strict(),
  z.object({ kind: z.literal("retrain"), retrain: RetrainSchema }).strict(),
]);

const Scales = z
  .array(z.number().int().min(1).max(256))
  .min(1)
  .max(8)
  .refine((s) => new Set(s).size === s.length, { message: "scales must be distinct" });

export const MonitorBodySchema = z
  .object({
    name: ModuleNameSchema,
    module: ModuleNameSchema,
    version: z.string().min(1),
    selector: SelectorSchema,
    alpha: z.number().gt(0).lt(0.5).default(MONITOR_DEFAULTS.alpha),
    scales: Scales.default([...MONITOR_DEFAULTS.scales]),
    minRows: z.number().int().min(1).max(10_000_000).default(MONITOR_DEFAULTS.minRows),
    includeOutputs: z.boolean().default(true),
    thresholds: z
      .object({ js: z.number().positive(), psi: z.number().positive(), wasserstein: z.number().positive() })
      .partial()
      .strict()
      .optional(),
    intervalMs: z
      .number()
      .int()
      .min(1_000)
      .max(7 * 24 * 3_600_000)
      .default(MONITOR_DEFAULTS.intervalMs),
    action: ActionSchema.default({ kind: "alert" }),
    webhook: z
      .object({
        url: z
          .string()
          .url()
          .refine((u) => /^https?:/.test(u), "an http(s) URL"),
      })
      .strict()
      .nullable()
      .optional(),
    enabled: z.boolean().default(true),
  })
  .strict();
export type MonitorBody = z.infer<typeof MonitorBodySchema>;

/** PATCH: every field but the name, none required. */
export const MonitorPatchSchema = MonitorBodySchema.omit({ name: true }).partial().strict();
export type MonitorPatchBody = z.infer<typeof MonitorPatchSchema>;

/** The stored settings of a parsed body. */
export function settingsOf(
  body: Pick<MonitorBody, "alpha" | "scales" | "minRows" | "includeOutputs" | "thresholds">,
): MonitorSettings {
  return {
    alpha: body.alpha,
    scales: [...body.scales].sort((a, b) => a - b),
    minRows: body.minRows,
    includeOutputs: body.includeOutputs,
    ...(body.thresholds ? { thresholds: body.thresholds } : {}),
  };
}

/** The stored action of a parsed body. */
export function actionOf(action: z.infer<typeof ActionSchema>): MonitorAction {
  if (action.kind === "alert") return { kind: "alert" };
  return { kind: "retrain", retrain: action.retrain as RetrainSettings };
}

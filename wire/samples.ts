/**
 * Raw rows a device sends only when the hub asked for them (`collect-samples`, wire/commands.ts)
 * and the module's manifest allows it (`monitoring.samples.allowed`): a reservoir of at most
 * `maxPerWindow` scored rows per telemetry window, each with its prediction id so feedback labels
 * can be joined. Values are the monitored columns' (drift-summary/monitoring.ts): numbers, vocabulary
 * entries for categoricals, null for missing or unseen.
 */
import { z } from "zod";

const isoTime = z.string().datetime({ offset: true });
const cell = z.union([z.number(), z.string(), z.null()]);
/** Ground truth as `/v1/feedback` took it: a class label or a regression value. */
const truth = {
  label: z.union([z.string(), z.number(), z.boolean()]).optional(),
  value: z.number().optional(),
};

export const SampleRowSchema = z.object({
  /** The prediction id the score answer carried (random for OIP rows, which carry none). */
  id: z.string().min(1).max(128),
  at: isoTime,
  inputs: z.record(z.string(), cell),
  outputs: z.record(z.string(), cell),
  ...truth,
});
export type SampleRow = z.infer<typeof SampleRowSchema>;

/** Feedback for a row sent in an earlier window. */
export const SampleLabelSchema = z.object({ id: z.string().min(1).max(128), ...truth });
export type SampleLabel = z.infer<typeof SampleLabelSchema>;

export const WindowSamplesSchema = z.object({
  rows: z.array(SampleRowSchema),
  labels: z.array(SampleLabelSchema).optional(),
});
export type WindowSamples = z.infer<typeof WindowSamplesSchema>;

/**
 * POST /v1/feedback: a ground-truth label (classification) or value (regression) for a prediction
 * the agent made recently, by the id the score answer carried. The agent joins it to the
 * prediction it remembers (module, version, what it predicted), counts label feedback in the
 * telemetry window (`labelled`, `correct`) and forwards it to the hub as a `feedback` event.
 * Unknown or expired ids are 404, a second feedback for one prediction is 409, and a refused
 * request changes nothing.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { PredictionLog, PredictionRecord } from "../../runtime/prediction-log.js";
import type { ScoringDeps } from "../deps.js";
import { ScoringError } from "../errors.js";
import { parseWith, readJsonBody } from "../request.js";

export const FeedbackRequestSchema = z
  .object({
    predictionId: z.string().min(1).max(128),
    /** The true class; compared with the predicted label as a string. */
    label: z.union([z.string().min(1).max(256), z.number(), z.boolean()]).optional(),
    /** The true value, for regressors. */
    value: z.number().optional(),
  })
  .strict()
  .refine((body) => (body.label === undefined) !== (body.value === undefined), {
    message: 'send exactly one of "label" or "value"',
  });
export type FeedbackRequest = z.infer<typeof FeedbackRequestSchema>;

export interface FeedbackResponse {
  predictionId: string;
  module: string;
  version: string;
  /** The label the module predicted, when its postprocessing names one. */
  predicted?: string;
  /** Whether the feedback label matched; absent when there is nothing to compare. */
  correct?: boolean;
}

/** Ids already given feedback, bounded like the log itself (the oldest are forgotten first). */
class SeenIds {
  #ids = new Set<string>();
  constructor(private readonly capacity: number) {}
  has(id: string): boolean {
    return this.#ids.has(id);
  }
  add(id: string): void {
    this.#ids.add(id);
    if (this.#ids.size > this.capacity) this.#ids.delete(this.#ids.values().next().value!);
  }
}

/** The label a prediction names: softmax, argmax and threshold have `label`; top-k its first entry. */
export function predictedLabel(prediction: unknown): string | undefined {
  if (typeof prediction !== "object" || prediction === null) return undefined;
  const record = prediction as { label?: unknown; top?: unknown };
  if (typeof record.label === "string") return record.label;
  if (Array.isArray(record.top) && typeof record.top[0]?.label === "string") return record.top[0].label;
  return undefined;
}

function describe(body: FeedbackRequest, record: PredictionRecord, predicted: string | undefined): string {
  const truth = body.label !== undefined ? `label "${body.label}"` : `value ${body.value}`;
  const guess = predicted === undefined ? "" : ` (predicted "${predicted}")`;
  return `feedback for prediction ${record.id}: ${truth}${guess}`;
}

/** POST /v1/feedback. */
export function feedbackRoutes(deps: ScoringDeps & { predictions: PredictionLog }): Hono {
  const seen = new SeenIds(deps.predictions.capacity);
  const app = new Hono();
  app.post("/v1/feedback", async (c) => {
    const body = parseWith(FeedbackRequestSchema, await readJsonBody(c));
    const record = deps.predictions.find(body.predictionId);
    if (record === undefined) {
      throw new ScoringError(
        "not_found",
        `prediction "${body.predictionId}" is unknown or expired: the agent keeps the last ` +
          `${deps.predictions.capacity} predictions for ${Math.round(deps.predictions.ttlMs / 1000)} s`,
      );
    }
    if (seen.has(record.id)) {
      throw new ScoringError("conflict", `prediction "${record.id}" already has feedback`);
    }
    seen.add(record.id);
    const predicted = predictedLabel(record.prediction);
    const comparable = body.label !== undefined && predicted !== undefined;
    const correct = comparable ? String(body.label) === predicted : undefined;
    // A sampled row takes its label along (now, or with a later window if it was already sent).
    deps.drift?.feedback(
      record.id,
      body.label !== undefined ? { label: body.label } : { value: body.value! },
    );
    if (correct !== undefined) {
      deps.recorder.recordFeedback({ module: record.module, version: record.version, correct });
    }
    deps.emitEvent?.({
      kind: "feedback",
      module: record.module,
      version: record.version,
      message: describe(body, record, predicted),
      details: {
        predictionId: record.id,
        predictedAt: record.at,
        prediction: record.prediction,
        ...(body.label !== undefined ? { label: body.label } : { value: body.value }),
        ...(correct === undefined ? {} : { correct }),
      },
    });
    deps.log.debug({ event: "feedback.accepted", module: record.module, predictionId: record.id });
    const response: FeedbackResponse = {
      predictionId: record.id,
      module: record.module,
      version: record.version,
      ...(predicted === undefined ? {} : { predicted }),
      ...(correct === undefined ? {} : { correct }),
    };
    return c.json(response);
  });
  return app;
}

/**
 * Rollout specs: from an operator's request (strategy, canary, waves, bake, rate, gates) to the
 * stored RolloutSpec, and from a spec plus a target count to cumulative wave sizes. Pure.
 */
import { z } from "zod";
import { ValidationError } from "../../lib/errors.js";
import type { DeploymentStrategy, RolloutGates, RolloutSpec, RolloutWave } from "../db/schema/deployments.js";
import { ACTIVATION_DEFAULTS } from "./activation.js";

/** Gate defaults; each is explained in hub/rollouts/README.md. */
export const DEFAULT_GATES: RolloutGates = {
  /** Fraction of released devices that may report failed / rolled-back (5 %). */
  maxFailureRate: 0.05,
  /** Fraction of requests on the new version that may error (5 %). */
  maxErrorRate: 0.05,
  /** New p95 latency may be at most 1.5× the previous version's. */
  maxLatencyRatio: 1.5,
  /** Total variation distance between label distributions, new vs previous (0.2 = 20 % of mass moved). */
  maxPredictionShift: 0.2,
  /** |mean_new − mean_prev| / std_prev for numeric outputs. */
  maxMeanShift: 1,
  /** Requests each side needs before a telemetry gate judges. */
  minRequests: 50,
  /** A bake without minRequests requests on the new version passes on the other gates. */
  onNoData: "pass",
  /** A released, online device that has not activated or failed 10 minutes after its wave is out counts as failed. */
  activationTimeoutMs: ACTIVATION_DEFAULTS.activationTimeoutMs,
  /** Offline devices neither hold up a wave nor count in the failures gate; they get it on reconnect. */
  onOffline: ACTIVATION_DEFAULTS.onOffline,
};

/** Bake time when a canary or wave rollout gives none: 5 minutes. */
export const DEFAULT_BAKE_MS = 5 * 60_000;

const GatesInput = z
  .object({
    maxFailureRate: z.number().min(0).max(1),
    maxErrorRate: z.number().min(0).max(1),
    maxLatencyRatio: z.number().positive(),
    maxPredictionShift: z.number().min(0).max(1),
    maxMeanShift: z.number().positive(),
    minRequests: z.number().int().min(1),
    onNoData: z.enum(["pass", "wait", "fail"]),
    activationTimeoutMs: z
      .number()
      .int()
      .min(1_000)
      .max(7 * 24 * 3_600_000),
    onOffline: z.enum(["exclude", "fail"]),
  })
  .partial()
  .strict();

const bakeMs = z
  .number()
  .int()
  .min(0)
  .max(7 * 24 * 3_600_000);

/** Shadow defaults; each is explained in hub/rollouts/README.md. */
export const DEFAULT_SHADOW = {
  /** 10 minutes of shadow scoring before the candidate is judged. */
  bakeMs: 10 * 60_000,
  /** Requests scored by the candidate across the targets before it is judged. */
  minScored: 200,
  /** 95 % of compared rows must get the same answer. */
  minAgreement: 0.95,
  maxErrorRate: 0.01,
  maxLatencyRatio: 1.5,
  maxLoadFailureRate: 0.05,
} as const;

const ShadowInput = z
  .object({
    bakeMs: bakeMs.optional(),
    minScored: z.number().int().min(1).max(100_000_000).optional(),
    minAgreement: z.number().min(0).max(1).optional(),
    maxErrorRate: z.number().min(0).max(1).optional(),
    maxLatencyRatio: z.number().positive().max(1_000).optional(),
    maxLoadFailureRate: z.number().min(0).max(1).optional(),
  })
  .strict();

/** The rollout part of a deployment request, as the API accepts it. */
export const RolloutRequestSchema = z
  .object({
    strategy: z.enum(["all-at-once", "canary", "waves"]).optional(),
    /** Canary: the first `count` devices or `percent` % of the targets, then everyone. */
    canary: z
      .object({ count: z.number().int().positive().optional(), percent: z.number().gt(0).lt(100).optional() })
      .strict()
      .refine((c) => (c.count === undefined) !== (c.percent === undefined), {
        message: "a canary is either count or percent, not both and not neither",
      })
      .optional(),
    /** Waves: cumulative percentages, strictly increasing, the last one 100. */
    waves: z
      .array(z.object({ percent: z.number().gt(0).max(100), bakeMs: bakeMs.optional() }).strict())
      .min(1)
      .max(20)
      .optional(),
    /** Bake time for every wave that does not set its own (ms). */
    bakeMs: bakeMs.optional(),
    /** Devices released per minute at most. */
    ratePerMinute: z.number().positive().max(1_000_000).optional(),
    gates: GatesInput.optional(),
    /** Shadow-score the candidate beside the serving version first; `{}` takes every default. */
    shadow: ShadowInput.optional(),
  })
  .strict();
export type RolloutRequest = z.infer<typeof RolloutRequestSchema>;

/** A request the schema accepts but whose parts contradict each other. */
export class RolloutSpecError extends ValidationError {
  override name = "RolloutSpecError";
}

/** Builds the stored spec and the strategy name; throws RolloutSpecError on conflicting parts. */
export function buildRolloutSpec(request: RolloutRequest): {
  strategy: DeploymentStrategy;
  spec: RolloutSpec;
} {
  const strategy = request.strategy ?? (request.canary ? "canary" : request.waves ? "waves" : "all-at-once");
  if (request.canary && request.waves) throw new RolloutSpecError("give either a canary or waves, not both");
  if (strategy !== "canary" && request.canary)
    throw new RolloutSpecError(`strategy "${strategy}" takes no canary`);
  if (strategy !== "waves" && request.waves)
    throw new RolloutSpecError(`strategy "${strategy}" takes no waves`);
  const gates = { ...DEFAULT_GATES, ...request.gates };
  const ratePerMinute = request.ratePerMinute ?? null;
  const defaultBake = request.bakeMs ?? (strategy === "all-at-once" ? 0 : DEFAULT_BAKE_MS);
  let waves: RolloutWave[];
  if (strategy === "all-at-once") {
    waves = [{ percent: 100, bakeMs: defaultBake }];
  } else if (strategy === "canary") {
    if (!request.canary) throw new RolloutSpecError('strategy "canary" needs canary.count or canary.percent');
    const first: RolloutWave =
      request.canary.count !== undefined
        ? { count: request.canary.count, bakeMs: defaultBake }
        : { percent: request.canary.percent!, bakeMs: defaultBake };
    waves = [first, { percent: 100, bakeMs: defaultBake }];
  } else {
    if (!request.waves) throw new RolloutSpecError('strategy "waves" needs a list of wave percentages');
    const percents = request.waves.map((w) => w.percent);
    for (let i = 1; i < percents.length; i++) {
      if (percents[i]! <= percents[i - 1]!)
        throw new RolloutSpecError(`wave percentages must increase: ${percents.join(", ")}`);
    }
    if (percents.at(-1) !== 100)
      throw new RolloutSpecError(`the last wave must be 100 (every target), got ${percents.at(-1)}`);
    waves = request.waves.map((w) => ({ percent: w.percent, bakeMs: w.bakeMs ?? defaultBake }));
  }
  const shadow = request.shadow
    ? { ...DEFAULT_SHADOW, ...request.shadow, phase: "scoring" as const }
    : undefined;
  return { strategy, spec: { waves, ratePerMinute, gates, ...(shadow ? { shadow } : {}) } };
}

/**
 * Cumulative device counts per wave for `targets` devices: never decreasing, at least one device
 * per wave while devices remain, and the last wave always every target.
 */
export function waveCounts(spec: RolloutSpec, targets: number): number[] {
  let previous = 0;
  return spec.waves.map((wave, index) => {
    const last = index === spec.waves.length - 1;
    const wanted = wave.count ?? Math.ceil(((wave.percent ?? 100) * targets) / 100);
    const count = last ? targets : Math.min(targets, Math.max(wanted, Math.min(previous + 1, targets)));
    previous = Math.max(previous, count);
    return previous;
  });
}

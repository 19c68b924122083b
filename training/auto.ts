/**
 * `recipe: auto`: fits every applicable recipe over a small, fixed hyperparameter grid, in a fixed
 * order, until the time budget runs out (the clock is injected), and ranks the candidates by
 * log loss for classification (macro F1 breaks ties) or RMSE for regression. Log loss, not
 * accuracy or F1: on folds of 25–80 rows those move by whole rows and tie often, while log loss
 * still tells a confident right answer from a lucky one. On a small training
 * split (fewer rows than `crossValidateBelow`) the figure is the mean over k folds of the training
 * rows and the winner is refitted on all of them; on a large one it is the validation split's,
 * which costs one fit per candidate.
 */
import { z } from "zod";
import { crossValidate, makeFolds } from "./cross-validation.js";
import type { Task } from "./dataset/schema.js";
import { TrainingError } from "./errors.js";
import { classificationMetrics, type Metrics, regressionMetrics } from "./evaluate/metrics.js";
import type { Prepared } from "./prepare.js";
import { fitRecipe, parseParams, RECIPE_NAMES, RECIPES } from "./trainers/recipes.js";
import type { ProgressHandler, RecipeName, TrainedModel, TrainingData } from "./trainers/types.js";

export const AutoParamsSchema = z
  .object({
    /** Wall-clock budget; the first candidate always runs, later ones only while time is left. */
    budgetMs: z.number().int().positive().default(120_000),
    /** Restrict the sweep to these recipes. */
    recipes: z
      .array(z.enum(RECIPE_NAMES as [RecipeName, ...RecipeName[]]))
      .min(1)
      .optional(),
    maxCandidates: z.number().int().min(1).max(100).optional(),
    /** Folds of the cross-validation on small training splits. */
    folds: z.number().int().min(2).max(10).default(5),
    /**
     * Cross-validate while the training split has fewer rows than this; at or above it, rank on
     * the validation split (one fit per candidate instead of folds + 1). 0 never cross-validates.
     */
    crossValidateBelow: z.number().int().min(0).default(5000),
  })
  .strict();
export type AutoParams = z.infer<typeof AutoParamsSchema>;

/** The bounded grid, cheapest candidates first so a short budget still tries every recipe. */
export const AUTO_GRID: Record<RecipeName, Record<string, unknown>[]> = {
  logistic: [{ l2: 1e-4 }, { l2: 1e-3 }, { l2: 1e-2 }],
  ridge: [{ alpha: 0.1 }, { alpha: 1 }, { alpha: 10 }],
  gbt: [
    { maxDepth: 3, learningRate: 0.1, nEstimators: 200 },
    { maxDepth: 5, learningRate: 0.1, nEstimators: 200 },
    { maxDepth: 3, learningRate: 0.3, nEstimators: 100 },
  ],
  forest: [{}],
  mlp: [
    { hidden: [32], learningRate: 0.01 },
    { hidden: [64, 32], learningRate: 0.003 },
  ],
};

/** How the candidates were scored. */
export type AutoEvaluation = "cross-validation" | "validation";

export interface LeaderboardEntry {
  rank: number;
  recipe: RecipeName;
  params: Record<string, unknown>;
  evaluation: AutoEvaluation;
  /**
   * The ranking metric: cross-validation's mean over `folds` folds with its sample standard
   * deviation `sd`, or the validation split's figure (the train split's when it is empty).
   */
  metric: { name: "logLoss" | "rmse"; value: number; sd?: number; folds?: number };
  /** Cross-validation: the out-of-fold predictions' metrics over every training row; else the validation split's. */
  validation: Metrics;
  /** The fit's iterations (cross-validation: the mean over folds, rounded). */
  iterations: number;
  /** Every fit of the candidate (cross-validation: all folds, not the winner's refit). */
  durationMs: number;
}

export interface SweepResult {
  /** The winner: refitted on every training row after cross-validation, else the candidate's own fit. */
  best: TrainedModel;
  /** The best candidate's position in run order (as passed to `onCandidate`). */
  bestIndex: number;
  evaluation: AutoEvaluation;
  leaderboard: LeaderboardEntry[];
  /** Grid candidates not run because the budget ran out. */
  skipped: number;
}

/** Metrics of in-process predictions on a split. */
export function metricsOf(task: Task, predictions: Float64Array, y: Float64Array, classes: number): Metrics {
  return task === "classification"
    ? classificationMetrics(predictions, y, classes)
    : regressionMetrics(predictions, y);
}

/** A split's metrics and the figures candidates are ranked by. */
interface Score {
  metrics: Metrics;
  value: number;
  tieBreak: number;
}

function scorer(task: Task, classes: number) {
  return (predictions: Float64Array, y: Float64Array): Score => {
    const metrics = metricsOf(task, predictions, y, classes);
    return "macroF1" in metrics
      ? { metrics, value: metrics.logLoss, tieBreak: -metrics.macroF1 }
      : { metrics, value: metrics.rmse, tieBreak: 0 };
  };
}

/** Runs the sweep. `now` returns milliseconds (Date.now by default). */
export function sweep(
  prepared: Prepared,
  params: unknown,
  options: {
    seed: number;
    now?: () => number;
    onProgress?: ProgressHandler;
    onCandidate?: (index: number, of: number, recipe: RecipeName) => void;
    /** Before the winner's refit on every training row (cross-validation only). */
    onRefit?: (index: number, recipe: RecipeName) => void;
  },
): SweepResult {
  const parsed = AutoParamsSchema.safeParse(params ?? {});
  if (!parsed.success)
    throw new TrainingError("bad_params", `recipe "auto" parameters: ${z.prettifyError(parsed.error)}`);
  const auto = parsed.data;
  const now = options.now ?? Date.now;
  const { task, data } = prepared;
  const recipes = (auto.recipes ?? RECIPE_NAMES).filter((r) => RECIPES[r].tasks.includes(task));
  if (recipes.length === 0) throw new TrainingError("bad_params", `no recipe in the sweep does ${task}`);
  const grid = recipes.flatMap((recipe) =>
    AUTO_GRID[recipe].map((p) => ({ recipe, params: parseParams(recipe, task, p) })),
  );
  const candidates = grid.slice(0, auto.maxCandidates ?? grid.length);
  const score = scorer(task, data.classes);
  // Each fold must hold out at least one row and keep at least one per fold for training.
  const crossValidating = data.train.rows < auto.crossValidateBelow && data.train.rows >= 2 * auto.folds;
  const evaluation: AutoEvaluation = crossValidating ? "cross-validation" : "validation";
  const folds = crossValidating ? makeFolds(data, auto.folds, options.seed) : [];
  const evaluationSet = data.validation.rows > 0 ? data.validation : data.train;
  const metricName = task === "classification" ? ("logLoss" as const) : ("rmse" as const);

  const started = now();
  const scored: {
    index: number;
    model?: TrainedModel;
    tieBreak: number;
    entry: Omit<LeaderboardEntry, "rank">;
  }[] = [];
  for (const [index, candidate] of candidates.entries()) {
    if (index > 0 && now() - started >= auto.budgetMs) break;
    options.onCandidate?.(index, candidates.length, candidate.recipe);
    const t0 = now();
    const fitCandidate = (on: TrainingData, onProgress?: ProgressHandler) =>
      fitRecipe(candidate.recipe, on, candidate.params, {
        seed: options.seed,
        ...(onProgress ? { onProgress } : {}),
      });
    const base = { recipe: candidate.recipe, params: candidate.params, evaluation };
    if (crossValidating) {
      let iterations = 0;
      const cv = crossValidate(
        data,
        folds,
        (on) => {
          // Folds report no iterations: only the winner's refit makes the run's metric series.
          const model = fitCandidate(on);
          iterations += model.iterations;
          return model;
        },
        score,
      );
      scored.push({
        index,
        tieBreak: cv.tieBreak,
        entry: {
          ...base,
          metric: { name: metricName, value: cv.mean, sd: cv.sd, folds: cv.folds },
          validation: cv.outOfFold,
          iterations: Math.round(iterations / cv.folds),
          durationMs: now() - t0,
        },
      });
    } else {
      const model = fitCandidate(data, options.onProgress);
      const s = score(model.predict(evaluationSet.x, evaluationSet.rows), evaluationSet.y);
      scored.push({
        index,
        model,
        tieBreak: s.tieBreak,
        entry: {
          ...base,
          metric: { name: metricName, value: s.value },
          validation: s.metrics,
          iterations: model.iterations,
          durationMs: now() - t0,
        },
      });
    }
  }
  scored.sort((a, b) => compare(a.entry.metric, a.tieBreak, b.entry.metric, b.tieBreak));
  const winner = scored[0]!;
  let best = winner.model;
  if (best === undefined) {
    options.onRefit?.(winner.index, winner.entry.recipe);
    best = fitRecipe(winner.entry.recipe, data, winner.entry.params, {
      seed: options.seed,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  }
  return {
    best,
    bestIndex: winner.index,
    evaluation,
    leaderboard: scored.map((s, i) => ({ rank: i + 1, ...s.entry })),
    skipped: candidates.length - scored.length,
  };
}

/** Better first: lower log loss (then higher macro F1) or lower RMSE. NaN sorts last; ties keep run order. */
function compare(
  a: LeaderboardEntry["metric"],
  aTie: number,
  b: LeaderboardEntry["metric"],
  bTie: number,
): number {
  const finite = (v: number) => (Number.isNaN(v) ? Infinity : v);
  const [a1, b1] = [finite(a.value), finite(b.value)];
  if (a1 !== b1) return a1 - b1;
  const [a2, b2] = [finite(aTie), finite(bTie)];
  return a2 === b2 ? 0 : a2 - b2;
}

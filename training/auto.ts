/**
 * `recipe: auto`: fits every applicable recipe over a small, fixed hyperparameter grid, in a fixed
 * order, until the time budget runs out (the clock is injected), and ranks the candidates by their
 * validation metric: macro F1 for classification (log loss breaks ties), RMSE for regression.
 */
import { z } from "zod";
import type { Task } from "./dataset/schema.js";
import { TrainingError } from "./errors.js";
import { classificationMetrics, type Metrics, regressionMetrics } from "./evaluate/metrics.js";
import type { Prepared } from "./prepare.js";
import { fitRecipe, parseParams, RECIPE_NAMES, RECIPES } from "./trainers/recipes.js";
import type { ProgressHandler, RecipeName, TrainedModel } from "./trainers/types.js";

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
  })
  .strict();
export type AutoParams = z.infer<typeof AutoParamsSchema>;

/** The bounded grid, cheapest candidates first so a short budget still tries every recipe. */
export const AUTO_GRID: Record<RecipeName, Record<string, unknown>[]> = {
  logistic: [{ l2: 1e-4 }, { l2: 1e-2 }],
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

export interface LeaderboardEntry {
  rank: number;
  recipe: RecipeName;
  params: Record<string, unknown>;
  /** The ranking metric's name and value on the validation split (train split when it is empty). */
  metric: { name: "macroF1" | "rmse"; value: number };
  validation: Metrics;
  iterations: number;
  durationMs: number;
}

export interface SweepResult {
  best: TrainedModel;
  /** The best candidate's position in run order (as passed to `onCandidate`). */
  bestIndex: number;
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

/** Runs the sweep. `now` returns milliseconds (Date.now by default). */
export function sweep(
  prepared: Prepared,
  params: unknown,
  options: {
    seed: number;
    now?: () => number;
    onProgress?: ProgressHandler;
    onCandidate?: (index: number, of: number, recipe: RecipeName) => void;
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
  const started = now();
  const scored: { index: number; model: TrainedModel; entry: Omit<LeaderboardEntry, "rank"> }[] = [];
  const evaluation = data.validation.rows > 0 ? data.validation : data.train;
  for (const [index, candidate] of candidates.entries()) {
    if (index > 0 && now() - started >= auto.budgetMs) break;
    options.onCandidate?.(index, candidates.length, candidate.recipe);
    const t0 = now();
    const model = fitRecipe(candidate.recipe, data, candidate.params, {
      seed: options.seed,
      onProgress: options.onProgress,
    });
    const validation = metricsOf(
      task,
      model.predict(evaluation.x, evaluation.rows),
      evaluation.y,
      data.classes,
    );
    const metric =
      "macroF1" in validation
        ? { name: "macroF1" as const, value: validation.macroF1 }
        : { name: "rmse" as const, value: validation.rmse };
    scored.push({
      index,
      model,
      entry: {
        recipe: candidate.recipe,
        params: candidate.params,
        metric,
        validation,
        iterations: model.iterations,
        durationMs: now() - t0,
      },
    });
  }
  scored.sort((a, b) => compare(a.entry.validation, b.entry.validation));
  return {
    best: scored[0]!.model,
    bestIndex: scored[0]!.index,
    leaderboard: scored.map((s, i) => ({ rank: i + 1, ...s.entry })),
    skipped: candidates.length - scored.length,
  };
}

/** Better first: higher macro F1 then lower log loss; lower RMSE. NaN sorts last. */
function compare(a: Metrics, b: Metrics): number {
  const key = (m: Metrics): [number, number] =>
    "macroF1" in m
      ? [-(Number.isNaN(m.macroF1) ? -1 : m.macroF1), m.logLoss]
      : [Number.isNaN(m.rmse) ? Infinity : m.rmse, 0];
  const [a1, a2] = key(a);
  const [b1, b2] = key(b);
  return a1 !== b1 ? a1 - b1 : a2 - b2;
}

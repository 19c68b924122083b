/** The built-in recipes: which tasks each serves, its parameter schema and its fit function. */
import { z } from "zod";
import type { Task } from "../dataset/schema.js";
import { TrainingError } from "../errors.js";
import { ForestParamsSchema, fitForest } from "./forest.js";
import { fitGbt, GbtParamsSchema } from "./gbt.js";
import { fitLogistic, LogisticParamsSchema } from "./logistic.js";
import { fitMlp, MlpParamsSchema } from "./mlp.js";
import { fitRidge, RidgeParamsSchema } from "./ridge.js";
import type { FitOptions, RecipeName, TrainedModel, TrainingData } from "./types.js";

interface Recipe {
  tasks: readonly Task[];
  schema: z.ZodType<Record<string, unknown>>;
  fit(data: TrainingData, params: never, options: FitOptions): TrainedModel;
}

export const RECIPES: Record<RecipeName, Recipe> = {
  logistic: { tasks: ["classification"], schema: LogisticParamsSchema, fit: fitLogistic },
  ridge: { tasks: ["regression"], schema: RidgeParamsSchema, fit: fitRidge },
  mlp: { tasks: ["classification", "regression"], schema: MlpParamsSchema, fit: fitMlp },
  gbt: { tasks: ["classification", "regression"], schema: GbtParamsSchema, fit: fitGbt },
  forest: { tasks: ["classification", "regression"], schema: ForestParamsSchema, fit: fitForest },
};

export const RECIPE_NAMES = Object.keys(RECIPES) as RecipeName[];

/** The recipe's parameters with defaults filled in; unknown keys and bad values are refused. */
export function parseParams(recipe: RecipeName, task: Task, params: unknown): Record<string, unknown> {
  const entry = RECIPES[recipe];
  if (entry === undefined) {
    throw new TrainingError(
      "bad_params",
      `unknown recipe "${recipe}"; known: ${RECIPE_NAMES.join(", ")}, auto`,
    );
  }
  if (!entry.tasks.includes(task)) {
    throw new TrainingError(
      "bad_params",
      `recipe "${recipe}" does not do ${task} (it does ${entry.tasks.join(", ")})`,
    );
  }
  const parsed = entry.schema.safeParse(params ?? {});
  if (!parsed.success) {
    throw new TrainingError("bad_params", `recipe "${recipe}" parameters: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/** Fits `recipe` on prepared data with already-parsed parameters. */
export function fitRecipe(
  recipe: RecipeName,
  data: TrainingData,
  params: Record<string, unknown>,
  options: FitOptions,
): TrainedModel {
  return RECIPES[recipe].fit(data, params as never, options);
}

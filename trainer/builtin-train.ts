/**
 * A built-in job's training step, shared by the worker thread and the in-process fallback: the
 * dataset bytes are parsed with the run's overrides, then `train()` runs with the run's recipe,
 * params, seed and split. Returns the complete call's `result` and the ONNX bytes.
 */

import type { RunSpec } from "../hub-api/training.js";
import { TrainingError } from "../training/errors.js";
import { type TrainProgress, train } from "../training/train.js";
import { RECIPE_NAMES } from "../training/trainers/recipes.js";
import type { RecipeName } from "../training/trainers/types.js";
import { type JobBytes, parseJobBytes } from "./job-data.js";

export interface BuiltinInput extends JobBytes {
  spec: RunSpec;
}

export interface BuiltinOutput {
  onnx: Uint8Array;
  result: Record<string, unknown>;
}

/** Trains per the spec; DatasetError/TrainingError propagate with their codes. */
export async function trainBuiltin(
  input: BuiltinInput,
  onProgress: (event: TrainProgress) => void,
): Promise<BuiltinOutput> {
  const { spec } = input;
  const recipe = spec.recipe;
  if (recipe !== "auto" && !(RECIPE_NAMES as readonly string[]).includes(recipe))
    throw new TrainingError("bad_params", `unknown recipe "${recipe}"`);
  const dataset = await parseJobBytes(input, spec);
  const trained = await train({
    dataset,
    task: spec.task,
    target: spec.target,
    recipe: recipe as RecipeName | "auto",
    ...(spec.params ? { params: spec.params } : {}),
    seed: spec.seed ?? 1,
    ...(spec.split ? { split: spec.split } : {}),
    ...(spec.maxCategories !== undefined ? { maxCategories: spec.maxCategories } : {}),
    onProgress,
  });
  return {
    onnx: trained.onnx,
    result: {
      recipe: trained.recipe,
      params: trained.params,
      iterations: trained.iterations,
      inputMode: trained.inputMode,
      metrics: trained.metrics,
      parity: trained.predictionsCheck,
      baseline: trained.baseline,
      features: trained.moduleFeatures,
      encoder: trained.features,
      classes: trained.classes,
      split: trained.split,
      history: trained.history,
      ...(trained.leaderboard ? { leaderboard: trained.leaderboard } : {}),
    },
  };
}

/**
 * The single entry the job runner calls: dataset + task + target + recipe → an ONNX model that
 * takes raw features, its test metrics (measured on the ONNX model itself with onnxruntime), a
 * parity check against the trainer's own predictions (a mismatch throws), and a baseline profile.
 */

import type { BaselineProfile } from "../drift-summary/baseline.js";
import { type AutoParams, type LeaderboardEntry, metricsOf, sweep } from "./auto.js";
import { buildBaseline } from "./baseline.js";
import type { Dataset } from "./dataset/dataset.js";
import type { Task } from "./dataset/schema.js";
import type { SplitFractions } from "./dataset/split.js";
import { TrainingError } from "./errors.js";
import type { Metrics } from "./evaluate/metrics.js";
import { compareOutputs, type ParityReport, runOnnx } from "./evaluate/onnx-check.js";
import { exportOnnx } from "./export-onnx.js";
import type { FeatureSpec } from "./features/encoder.js";
import { feedsFromColumns, type InputMode, moduleFeatures } from "./features/inputs.js";
import { prepare } from "./prepare.js";
import { fitRecipe, parseParams } from "./trainers/recipes.js";
import type { ProgressEvent, RecipeName, TrainedModel } from "./trainers/types.js";

/** Progress: a trainer iteration, or (for `auto`) the start of a candidate. */
export type TrainProgress =
  | ({ kind: "iteration"; candidate?: number } & ProgressEvent)
  | { kind: "candidate"; candidate: number; of: number; recipe: RecipeName }
  | { kind: "phase"; phase: "prepared" | "trained" | "exported" | "evaluated" };

export interface TrainRequest {
  dataset: Dataset;
  task: Task;
  target: string;
  recipe: RecipeName | "auto";
  /** The recipe's hyperparameters (see each trainer's schema), or AutoParams for `auto`. */
  params?: Record<string, unknown>;
  /** Drives the split, initial weights and shuffling. Default 0. */
  seed?: number;
  split?: SplitFractions;
  /** Model input convention (see features/inputs.ts). Default "vector". */
  inputMode?: InputMode;
  /** Vocabulary cap per categorical feature. Default 50. */
  maxCategories?: number;
  /** ONNX vs trainer tolerance (absolute on probabilities, relative on regression). Default 1e-4. */
  tolerance?: number;
  /** Milliseconds clock for the auto sweep's budget. Default Date.now. */
  now?: () => number;
  onProgress?: (event: TrainProgress) => void;
}

export interface TrainResult {
  onnx: Uint8Array;
  recipe: RecipeName;
  params: Record<string, unknown>;
  iterations: number;
  inputMode: InputMode;
  /** The learned preprocessing: features in input order, means/stds, vocabularies. */
  features: FeatureSpec[];
  /** Class names in `probabilities` order (the `label` output indexes them); empty for regression. */
  classes: string[];
  /** Manifest tabular features for the agent's score route (vector mode). */
  moduleFeatures: { name: string; default: number }[];
  split: { train: number; validation: number; test: number };
  /** Test metrics are the ONNX model's; train and validation the trainer's (in-process). */
  metrics: { train: Metrics; validation: Metrics | null; test: Metrics };
  /** Every iteration's metrics of the final model's fit. */
  history: ProgressEvent[];
  baseline: BaselineProfile;
  predictionsCheck: ParityReport;
  leaderboard?: LeaderboardEntry[];
}

/** Trains, exports, evaluates and profiles; throws DatasetError / TrainingError with a code. */
export async function train(request: TrainRequest): Promise<TrainResult> {
  const seed = request.seed ?? 0;
  const inputMode = request.inputMode ?? "vector";
  const { task, target } = request;
  const prepared = prepare(request.dataset, {
    task,
    target,
    seed,
    ...(request.split !== undefined ? { split: request.split } : {}),
    ...(request.maxCategories !== undefined ? { maxCategories: request.maxCategories } : {}),
  });
  request.onProgress?.({ kind: "phase", phase: "prepared" });
  let history: ProgressEvent[] = [];
  let candidate: number | undefined;
  const onProgress = (event: ProgressEvent) => {
    history.push(event);
    request.onProgress?.({ kind: "iteration", ...(candidate !== undefined ? { candidate } : {}), ...event });
  };

  let model: TrainedModel;
  let leaderboard: LeaderboardEntry[] | undefined;
  if (request.recipe === "auto") {
    const histories: ProgressEvent[][] = [];
    const result = sweep(prepared, request.params as AutoParams | undefined, {
      seed,
      onProgress,
      ...(request.now !== undefined ? { now: request.now } : {}),
      onCandidate: (index, of, recipe) => {
        candidate = index;
        history = [];
        histories.push(history);
        request.onProgress?.({ kind: "candidate", candidate: index, of, recipe });
      },
      // After cross-validation the winner is fitted once more on every training row: its series.
      onRefit: (index) => {
        candidate = index;
        history = [];
        histories[index] = history;
      },
    });
    model = result.best;
    leaderboard = result.leaderboard;
    history = histories[result.bestIndex] ?? [];
  } else {
    model = fitRecipe(request.recipe, prepared.data, parseParams(request.recipe, task, request.params), {
      seed,
      onProgress,
    });
  }
  request.onProgress?.({ kind: "phase", phase: "trained" });

  const onnx = exportOnnx(prepared.encoder, model, { inputMode, classes: prepared.classes });
  request.onProgress?.({ kind: "phase", phase: "exported" });

  const classes = prepared.data.classes;
  const { data, test } = prepared;
  const outputs = await runOnnx(
    onnx,
    feedsFromColumns(prepared.encoder, prepared.features, prepared.split.test, inputMode),
    classes,
  );
  const predictionsCheck = compareOutputs(
    model.predict(test.x, test.rows),
    outputs,
    classes,
    request.tolerance,
  );
  if (!predictionsCheck.ok) {
    throw new TrainingError(
      "parity",
      `the exported ONNX model disagrees with the trainer on the test split (max difference ${predictionsCheck.maxAbsDiff}, ` +
        `${predictionsCheck.labelMismatches} label mismatches, tolerance ${predictionsCheck.tolerance})`,
    );
  }
  request.onProgress?.({ kind: "phase", phase: "evaluated" });

  const trainOutputs = model.predict(data.train.x, data.train.rows);
  return {
    onnx,
    recipe: model.recipe,
    params: model.params,
    iterations: model.iterations,
    inputMode,
    features: prepared.encoder.features,
    classes: prepared.classes,
    moduleFeatures: moduleFeatures(prepared.encoder),
    split: { train: data.train.rows, validation: data.validation.rows, test: test.rows },
    metrics: {
      train: metricsOf(task, trainOutputs, data.train.y, classes),
      validation:
        data.validation.rows > 0
          ? metricsOf(
              task,
              model.predict(data.validation.x, data.validation.rows),
              data.validation.y,
              classes,
            )
          : null,
      test: metricsOf(task, Float64Array.from(outputs.values), test.y, classes),
    },
    history,
    baseline: buildBaseline(prepared, request.dataset.version, trainOutputs, inputMode),
    predictionsCheck,
    ...(leaderboard !== undefined ? { leaderboard } : {}),
  };
}

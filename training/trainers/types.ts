/** What every built-in trainer takes and returns. */
import type { GraphBuilder } from "../../modules/onnx/builder.js";
import type { Task } from "../dataset/schema.js";

export type RecipeName = "logistic" | "ridge" | "mlp" | "gbt" | "forest";

/** One split's design matrix (row-major float32) and targets. */
export interface DesignSet {
  x: Float32Array;
  rows: number;
  /** Regression targets, or class indices (0..classes-1) as numbers. */
  y: Float64Array;
}

export interface TrainingData {
  task: Task;
  width: number;
  /** Number of classes; 0 for regression. */
  classes: number;
  train: DesignSet;
  /** Used for early stopping; may have zero rows. */
  validation: DesignSet;
}

/** One epoch (MLP, logistic), boosting round, or tenth of a forest, for progress bars and metric series. */
export interface ProgressEvent {
  recipe: RecipeName;
  iteration: number;
  /** The most iterations this fit will run. */
  of: number;
  /** e.g. `{ trainLoss, validationLoss }`. */
  metrics: Record<string, number>;
}

export type ProgressHandler = (event: ProgressEvent) => void;

export interface FitOptions {
  seed: number;
  onProgress?: ProgressHandler;
}

/** A fitted model: in-process predictions and the graph head that reproduces them. */
export interface TrainedModel {
  recipe: RecipeName;
  /** The hyperparameters used, defaults filled in. */
  params: Record<string, unknown>;
  /** Iterations actually run (after early stopping). */
  iterations: number;
  /** Classification: probabilities, row-major [rows × classes]. Regression: one value per row. */
  predict(x: Float32Array, rows: number): Float64Array;
  /**
   * Adds nodes from the design value to the outputs: `label` (INT64 [batch]) and `probabilities`
   * (FP32 [batch, classes]) for classification, `prediction` (FP32 [batch, 1]) for regression.
   */
  exportHead(g: GraphBuilder, design: string): void;
  /** Operator sets the head needs besides the default domain. */
  opsets: { domain: string; version: number }[];
}

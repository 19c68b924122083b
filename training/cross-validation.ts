/**
 * k-fold cross-validation on the training split, for `auto` on small data sets: a 15% validation
 * split of a few hundred rows holds 30–80 rows, too few to tell candidates apart, while k folds
 * score every training row once. Folds are seeded and, for classification, stratified by class so
 * every fold keeps each class's share. Each fold's fit keeps the run's validation split for early
 * stopping, so the held-out fold is never seen by the model it scores.
 */
import { seededRandom } from "../modules/onnx/random.js";
import type { Metrics } from "./evaluate/metrics.js";
import type { DesignSet, TrainedModel, TrainingData } from "./trainers/types.js";

/** One fold: the training rows without it, and the rows it holds out. */
export interface Fold {
  train: DesignSet;
  heldOut: DesignSet;
  /** Positions of the held-out rows within the training split, ascending. */
  positions: Uint32Array;
}

/**
 * Fold number per training row: rows shuffled by seed within each class (classes in index order),
 * then dealt round-robin across folds, continuing from one class to the next so folds stay even.
 */
export function assignFolds(y: Float64Array, folds: number, seed: number, stratified: boolean): Uint8Array {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    const key = stratified ? y[i]! : 0;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [i]);
    else group.push(i);
  }
  // A stream of its own: the split and the trainers draw from the seed's first stream.
  const random = seededRandom((seed ^ 0x9e3779b9) >>> 0);
  const fold = new Uint8Array(y.length);
  let next = 0;
  for (const key of [...groups.keys()].sort((a, b) => a - b)) {
    const members = groups.get(key)!;
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [members[i], members[j]] = [members[j]!, members[i]!];
    }
    for (const row of members) {
      fold[row] = next;
      next = (next + 1) % folds;
    }
  }
  return fold;
}

/** The rows at `positions` of a design set. */
function subset(set: DesignSet, width: number, positions: ArrayLike<number>): DesignSet {
  const x = new Float32Array(positions.length * width);
  const y = new Float64Array(positions.length);
  for (let i = 0; i < positions.length; i++) {
    const row = positions[i]!;
    x.set(set.x.subarray(row * width, (row + 1) * width), i * width);
    y[i] = set.y[row]!;
  }
  return { x, rows: positions.length, y };
}

/** The k folds of the training split. */
export function makeFolds(data: TrainingData, folds: number, seed: number): Fold[] {
  const assignment = assignFolds(data.train.y, folds, seed, data.task === "classification");
  return Array.from({ length: folds }, (_, k) => {
    const held: number[] = [];
    const kept: number[] = [];
    for (let i = 0; i < assignment.length; i++) (assignment[i] === k ? held : kept).push(i);
    const positions = Uint32Array.from(held);
    return {
      train: subset(data.train, data.width, kept),
      heldOut: subset(data.train, data.width, positions),
      positions,
    };
  });
}

/** A candidate's cross-validated score: the ranking metric per fold, its mean and sample sd. */
export interface CrossValidation {
  folds: number;
  mean: number;
  sd: number;
  /** The tie-breaker's mean over folds (log loss for classification; 0 for regression). */
  tieBreak: number;
  /** Metrics of the out-of-fold predictions pooled over every training row. */
  outOfFold: Metrics;
}

/** Mean and sample standard deviation (0 for a single value). */
export function meanSd(values: readonly number[]): { mean: number; sd: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return { mean, sd: 0 };
  const squares = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, sd: Math.sqrt(squares / (values.length - 1)) };
}

/**
 * Fits one candidate on each fold's training rows (with the run's validation split for early
 * stopping) and scores it on the held-out rows.
 */
export function crossValidate(
  data: TrainingData,
  folds: Fold[],
  fit: (data: TrainingData) => TrainedModel,
  score: (
    predictions: Float64Array,
    y: Float64Array,
  ) => { metrics: Metrics; value: number; tieBreak: number },
): CrossValidation {
  const width = data.task === "classification" ? data.classes : 1;
  const pooled = new Float64Array(data.train.rows * width);
  const values: number[] = [];
  const tieBreaks: number[] = [];
  for (const fold of folds) {
    const model = fit({ ...data, train: fold.train });
    const predictions = model.predict(fold.heldOut.x, fold.heldOut.rows);
    const scored = score(predictions, fold.heldOut.y);
    values.push(scored.value);
    tieBreaks.push(scored.tieBreak);
    for (let i = 0; i < fold.positions.length; i++) {
      pooled.set(predictions.subarray(i * width, (i + 1) * width), fold.positions[i]! * width);
    }
  }
  const { mean, sd } = meanSd(values);
  return {
    folds: folds.length,
    mean,
    sd,
    tieBreak: meanSd(tieBreaks).mean,
    outOfFold: score(pooled, data.train.y).metrics,
  };
}

/** The training library's public API: datasets, the train() entry, and what its result holds. */

export {
  type BaselineProfile,
  type FeatureBaseline,
  histogramBin,
  type NumericHistogram,
  type OutputBaseline,
} from "../drift-summary/baseline.js";
export { AUTO_GRID, type AutoParams, AutoParamsSchema, type LeaderboardEntry } from "./auto.js";
export { BASELINE_BINS } from "./baseline.js";
export { type Dataset, datasetFromRows, type LoadDatasetOptions, loadDataset } from "./dataset/dataset.js";
export {
  type DatasetFormat,
  type DatasetLimits,
  type DatasetSource,
  DEFAULT_DATASET_LIMITS,
  DEFAULT_MISSING_TOKENS,
} from "./dataset/read.js";
export type { ColumnKind, ColumnOverride, ColumnSchema, Task } from "./dataset/schema.js";
export { DEFAULT_SPLIT, type Split, type SplitFractions, splitRows } from "./dataset/split.js";
export type { ColumnStats } from "./dataset/stats.js";
export { DatasetError, type DatasetErrorCode, TrainingError, type TrainingErrorCode } from "./errors.js";
export type { ClassificationMetrics, Metrics, RegressionMetrics } from "./evaluate/metrics.js";
export type { ParityReport } from "./evaluate/onnx-check.js";
export type { FeatureSpec } from "./features/encoder.js";
export { type InputMode, moduleFeatures, VECTOR_INPUT, vectorRow } from "./features/inputs.js";
export { loadRunDataset, type RunDataSpec, type TestSplit, testSplit } from "./run-data.js";
export { type TrainProgress, type TrainRequest, type TrainResult, train } from "./train.js";
export { OUTPUTS } from "./trainers/heads.js";
export { RECIPE_NAMES } from "./trainers/recipes.js";
export type { ProgressEvent, RecipeName } from "./trainers/types.js";

/** The drift statistics library: pure functions from the monitoring spec's reference bins and window summaries to tests, scores and verdicts. */

export { binnedKs, type KsMethod, type KsResult, rawKsPValue, rawKsStatistic } from "./binned-ks.js";
export { type AlignedCounts, alignCounts } from "./bins.js";
export { bridgeGridSurvival } from "./bridge-grid.js";
export { type CalibrationOptions, calibrateThresholds, type DistanceThresholds } from "./calibrate.js";
export { type ChiSquareResult, chiSquare } from "./chi-square.js";
export { type ColumnQuality, columnQuality } from "./data-quality.js";
export { jensenShannon, PSI_EPSILON, psi, wasserstein1, wassersteinOverStd } from "./distances.js";
export { DriftInputError } from "./errors.js";
export { type EvidentlyColumnVerdict, evidentlyDatasetDrift, evidentlyVerdict } from "./evidently.js";
export { holm, holmAdjusted } from "./holm.js";
export { type ColumnDrift, type DriftReport, type DriftReportOptions, driftReport } from "./report.js";
export type { ColumnSummary, DriftSummaryLike, MonitoredColumn, MonitoringSpecLike } from "./types.js";

/**
 * The one place hub/monitors and hub/retraining reach the drift library: the device summary and its
 * merge (wire/drift-summary.ts), the monitoring spec (modules/monitoring.ts) and how it is built from
 * a training baseline (training/monitoring.ts), and the statistics (hub/drift). Everything else
 * imports from here, so a change of those APIs is one edit.
 */

export type { MonitoringSpec } from "../../modules/monitoring.js";
export { monitoringFromBaseline } from "../../modules/monitoring.js";
export type { ColumnSummary, DriftSummary } from "../../wire/drift-summary.js";
export { DriftSummarySchema, mergeSummaries } from "../../wire/drift-summary.js";
export { holm } from "../drift/holm.js";
export { type DriftReport, driftReport } from "../drift/index.js";

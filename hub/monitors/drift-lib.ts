/**
 * The one place hub/monitors and hub/retraining reach the drift library: the device summary and its
 * merge (drift-summary/summary.ts), the monitoring spec (drift-summary/monitoring.ts) and how it is built from
 * a training baseline (training/monitoring.ts), and the statistics (hub/drift). Everything else
 * imports from here, so a change of those APIs is one edit.
 */

export type { MonitoringSpec } from "../../drift-summary/monitoring.js";
export type { ColumnSummary, DriftSummary } from "../../drift-summary/summary.js";
export { DriftSummarySchema, mergeSummaries } from "../../drift-summary/summary.js";
export { holm } from "../drift/holm.js";
export { type DriftReport, driftReport } from "../drift/index.js";
export { monitoringFromBaseline } from "./from-baseline.js";

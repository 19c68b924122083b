/**
 * The shapes the statistics read, owned elsewhere: the monitoring spec's columns (bins and reference
 * counts from the training baseline, drift-summary/monitoring.ts) and the device's per-window summary
 * (counts over the same bins, drift-summary/summary.ts). The statistics need only these parts.
 */
import type { MonitoredColumn, Monitoring } from "../../drift-summary/monitoring.js";
import type { ColumnSummary, DriftSummary, NumericSummary } from "../../drift-summary/summary.js";

export type { ColumnSummary, MonitoredColumn, NumericSummary };

export type MonitoringSpecLike = Pick<Monitoring, "baselineId" | "columns" | "outputs">;

export type DriftSummaryLike = Pick<DriftSummary, "baselineId" | "rows" | "columns" | "outputs">;

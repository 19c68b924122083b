/**
 * The shapes the statistics read, owned elsewhere: the monitoring spec's columns (bins and reference
 * counts from the training baseline, modules/monitoring.ts) and the device's per-window summary
 * (counts over the same bins, wire/drift-summary.ts). The statistics need only these parts.
 */
import type { MonitoredColumn, Monitoring } from "../../modules/monitoring.js";
import type { ColumnSummary, DriftSummary, NumericSummary } from "../../wire/drift-summary.js";

export type { ColumnSummary, MonitoredColumn, NumericSummary };

export type MonitoringSpecLike = Pick<Monitoring, "baselineId" | "columns" | "outputs">;

export type DriftSummaryLike = Pick<DriftSummary, "baselineId" | "rows" | "columns" | "outputs">;

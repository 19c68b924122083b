/**
 * Cohort aggregation: a cohort's summary at scale k is every device's k newest windows merged by
 * addition (mergeSummaries is exact, so the order does not matter). Summaries counted on another
 * baseline (a different bin layout) are left out and counted. Pure.
 */
import { type DriftSummary, mergeSummaries } from "./drift-lib.js";

export interface StoredSummary {
  deviceId: string;
  windowEnd: Date;
  baselineId: string;
  summary: unknown;
}

export interface ScaleAggregate {
  /** Windows per device (the scale). */
  scale: number;
  devices: number;
  windows: number;
  rows: number;
  /** The merged summary; null when no device had a window. */
  summary: DriftSummary | null;
  windowEnd: Date | null;
}

/** Merges each device's newest `scale` windows for every scale; `rows` newest first per device. */
export function aggregateScales(
  rows: readonly StoredSummary[],
  scales: readonly number[],
  baselineId: string,
): { scales: ScaleAggregate[]; foreignBaseline: number } {
  const perDevice = new Map<string, StoredSummary[]>();
  let foreignBaseline = 0;
  for (const row of rows) {
    if (row.baselineId !== baselineId) {
      foreignBaseline++;
      continue;
    }
    const list = perDevice.get(row.deviceId) ?? [];
    list.push(row);
    perDevice.set(row.deviceId, list);
  }
  for (const list of perDevice.values()) list.sort((a, b) => b.windowEnd.getTime() - a.windowEnd.getTime());
  const result = scales.map((scale): ScaleAggregate => {
    let merged: DriftSummary | null = null;
    let windows = 0;
    let windowEnd: Date | null = null;
    for (const list of perDevice.values()) {
      for (const row of list.slice(0, scale)) {
        const summary = row.summary as DriftSummary;
        merged = merged ? mergeSummaries(merged, summary) : summary;
        windows++;
        if (!windowEnd || row.windowEnd > windowEnd) windowEnd = row.windowEnd;
      }
    }
    return { scale, devices: perDevice.size, windows, rows: merged?.rows ?? 0, summary: merged, windowEnd };
  });
  return { scales: result, foreignBaseline };
}

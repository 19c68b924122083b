/**
 * Data quality per column, against the reference: missing rate, out-of-range rate (numeric: values
 * below the first or above the last training edge) and unseen-category rate (categorical). A rate is
 * flagged when its count is improbably high for the reference rate: one-sided Poisson tail below
 * `alpha`, with the reference rate smoothed so an event the training data never showed is still
 * possible — (k+1)/(N+2) for missing and unseen (Laplace), (k+2)/(N+1) for out-of-range (a new value
 * falls outside the range of N training values with probability 2/(N+1)).
 * These flags are reported beside drift; they do not make a column "drifted".
 */

import { poissonAtLeast } from "./special-functions.js";
import type { ColumnSummary, MonitoredColumn } from "./types.js";

export const DATA_QUALITY_ALPHA = 0.001;

export interface ColumnQuality {
  name: string;
  rows: number;
  missingRate: number;
  referenceMissingRate: number;
  /** Numeric: share of present values outside the training range. */
  outOfRangeRate?: number;
  /** Categorical: share of present values outside the vocabulary. */
  unseenRate?: number;
  referenceUnseenRate?: number;
  flags: ("missing" | "out-of-range" | "unseen")[];
}

/** Rates and flags for one column's window. */
export function columnQuality(
  column: MonitoredColumn,
  summary: ColumnSummary,
  alpha = DATA_QUALITY_ALPHA,
): ColumnQuality {
  const ref = column.reference;
  const present =
    sumOf(summary.counts) + (summary.kind === "numeric" ? summary.below + summary.above : summary.unseen);
  const rows = present + summary.missing;
  const refPresent = ref.count - ref.missing;
  const flags: ColumnQuality["flags"] = [];
  const improbable = (events: number, trials: number, rate: number) =>
    trials > 0 && events > 0 && poissonAtLeast(events, trials * rate) < alpha;
  const quality: ColumnQuality = {
    name: column.name,
    rows,
    missingRate: rows > 0 ? summary.missing / rows : 0,
    referenceMissingRate: ref.count > 0 ? ref.missing / ref.count : 0,
    flags,
  };
  if (improbable(summary.missing, rows, (ref.missing + 1) / (ref.count + 2))) flags.push("missing");
  if (column.kind === "numeric" && summary.kind === "numeric") {
    const outside = summary.below + summary.above;
    quality.outOfRangeRate = present > 0 ? outside / present : 0;
    const refOutside = column.reference.below + column.reference.above;
    if (improbable(outside, present, (refOutside + 2) / (refPresent + 1))) flags.push("out-of-range");
  } else if (column.kind === "categorical" && summary.kind === "categorical") {
    quality.unseenRate = present > 0 ? summary.unseen / present : 0;
    quality.referenceUnseenRate = refPresent > 0 ? column.reference.unseen / refPresent : 0;
    if (improbable(summary.unseen, present, (column.reference.unseen + 1) / (refPresent + 2)))
      flags.push("unseen");
  }
  return quality;
}

function sumOf(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

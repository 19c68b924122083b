/**
 * Turns a monitored column and a window summary into aligned count vectors, the form every test
 * takes. Numeric: [below, ...bins, above], ordered; categorical: [...vocabulary, unseen], unordered.
 * Missing values are not a bin: they are data quality (data-quality.ts). Current bin means come from
 * the summary's integer offsets (drift-summary/summary.ts binMeans).
 */
import { numericBinCount } from "../../drift-summary/monitoring.js";
import { binMeans } from "../../drift-summary/summary.js";
import { DriftInputError } from "./errors.js";
import type { ColumnSummary, MonitoredColumn } from "./types.js";

export interface AlignedCounts {
  reference: number[];
  current: number[];
  /** Numeric only: where each bin's mass sits (bin mean, else the midpoint; the range edge for below/above). */
  referenceLocations?: number[];
  currentLocations?: number[];
}

/** Reference and current counts over the same bins; throws DriftInputError when the shapes disagree. */
export function alignCounts(column: MonitoredColumn, summary: ColumnSummary): AlignedCounts {
  if (column.kind !== summary.kind) {
    throw new DriftInputError(`column ${column.name}: summary is ${summary.kind}, spec says ${column.kind}`);
  }
  if (column.kind === "categorical" && summary.kind === "categorical") {
    expectLength(column.name, "counts", summary.counts.length, column.vocabulary.length);
    expectLength(column.name, "reference counts", column.reference.counts.length, column.vocabulary.length);
    return {
      reference: [...column.reference.counts, column.reference.unseen],
      current: [...summary.counts, summary.unseen],
    };
  }
  if (column.kind !== "numeric" || summary.kind !== "numeric") throw new Error("unreachable");
  const bins = numericBinCount(column.edges);
  expectLength(column.name, "counts", summary.counts.length, bins);
  expectLength(column.name, "offsets", summary.offsets.length, bins);
  expectLength(column.name, "reference counts", column.reference.counts.length, bins);
  const edges = column.edges;
  const lo = edges[0] ?? 0;
  const hi = edges[edges.length - 1] ?? lo;
  const midpoint = (b: number) => (edges.length > 1 ? (edges[b]! + edges[b + 1]!) / 2 : lo);
  const refMeans = column.reference.means;
  const curMeans = binMeans(column, summary);
  return {
    reference: [column.reference.below, ...column.reference.counts, column.reference.above],
    current: [summary.below, ...summary.counts, summary.above],
    referenceLocations: [lo, ...column.reference.counts.map((_, b) => refMeans?.[b] ?? midpoint(b)), hi],
    currentLocations: [
      summary.below > 0 ? summary.belowSum / summary.below : lo,
      ...curMeans.map((mean, b) => mean ?? midpoint(b)),
      summary.above > 0 ? summary.aboveSum / summary.above : hi,
    ],
  };
}

function expectLength(column: string, what: string, actual: number, expected: number): void {
  if (actual !== expected) {
    throw new DriftInputError(`column ${column}: ${what} has ${actual} entries, the bins need ${expected}`);
  }
}

/** Sum of a count vector. */
export function total(counts: readonly number[]): number {
  let sum = 0;
  for (const c of counts) sum += c;
  return sum;
}

/** Checks a count vector: finite, non-negative. */
export function checkCounts(name: string, counts: readonly number[]): void {
  for (const c of counts) {
    if (!Number.isFinite(c) || c < 0)
      throw new DriftInputError(`${name}: counts must be finite and >= 0, got ${c}`);
  }
}

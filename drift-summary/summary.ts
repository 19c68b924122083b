/**
 * The device's drift summary of one module version over one telemetry window: per monitored column
 * (drift-summary/monitoring.ts) how many rows fell into each training bin, plus out-of-range, unseen and
 * missing counts. Everything is an integer count except the out-of-range sums, so summaries from
 * any devices and windows add up exactly (`mergeSummaries`), and no raw value leaves the device.
 *
 * Bin means travel as `offsets`, not float sums: per bin Σ round(OFFSET_STEPS · (x − lo)/(hi − lo)),
 * an integer (exact under addition, a few digits: it keeps the window ≤ 1.5 KB gzipped). `binMeans`
 * turns them back into means (error ≤ half a step, 1/32 of the bin width, per value).
 */
import { z } from "zod";
import { SHA256_HEX_PATTERN } from "../lib/files.js";
import type { CategoricalColumn, Monitoring, NumericColumn } from "./monitoring.js";

/**
 * Significant digits of belowSum / aboveSum as devices send them: the sums only place the
 * out-of-range mass (its mean), where 0.5 % is far below what drift statistics resolve, and each
 * digit costs ~3.3 bits per sum on the wire.
 */
export const OUT_OF_RANGE_DIGITS = 3;

/** Steps a numeric bin is cut into for `offsets`. */
export const OFFSET_STEPS = 16;

const count = z.number().int().nonnegative();
const isoTime = z.string().datetime({ offset: true });

export const NumericSummarySchema = z.object({
  kind: z.literal("numeric"),
  /** Per bin: rows whose value fell into it. */
  counts: z.array(count),
  below: count,
  above: count,
  missing: count,
  /** Per bin: Σ round(OFFSET_STEPS · (x − lo)/(hi − lo)) over its values. */
  offsets: z.array(count),
  /** Sums of the values below / above the training range. */
  belowSum: z.number(),
  aboveSum: z.number(),
});
export type NumericSummary = z.infer<typeof NumericSummarySchema>;

export const CategoricalSummarySchema = z.object({
  kind: z.literal("categorical"),
  /** Per vocabulary entry. */
  counts: z.array(count),
  unseen: count,
  missing: count,
});
export type CategoricalSummary = z.infer<typeof CategoricalSummarySchema>;

export const ColumnSummarySchema = z.discriminatedUnion("kind", [
  NumericSummarySchema,
  CategoricalSummarySchema,
]);
export type ColumnSummary = z.infer<typeof ColumnSummarySchema>;

export const DriftSummarySchema = z.object({
  /** The monitoring spec's baselineId: the bins these counts were made on. */
  baselineId: z.string().regex(SHA256_HEX_PATTERN, "sha256 as 64 lowercase hex characters"),
  /** Scored rows summarised. */
  rows: count,
  /** First and last moment covered (a held-back window widens it). */
  windowStart: isoTime,
  windowEnd: isoTime,
  columns: z.record(z.string(), ColumnSummarySchema),
  outputs: z.record(z.string(), ColumnSummarySchema),
});
export type DriftSummary = z.infer<typeof DriftSummarySchema>;

/**
 * Bins of a numeric column: drift-summary/monitoring.ts numericBinCount's rule, repeated because importing
 * that module would close a cycle (monitoring → messages → drift-summary).
 */
export function binsOf(edges: readonly number[]): number {
  return edges.length === 0 ? 0 : Math.max(edges.length - 1, 1);
}

/** A zero summary of one column. */
export function emptyColumnSummary(column: NumericColumn | CategoricalColumn): ColumnSummary {
  if (column.kind === "numeric") {
    const bins = binsOf(column.edges);
    return {
      kind: "numeric",
      counts: new Array<number>(bins).fill(0),
      below: 0,
      above: 0,
      missing: 0,
      offsets: new Array<number>(bins).fill(0),
      belowSum: 0,
      aboveSum: 0,
    };
  }
  return {
    kind: "categorical",
    counts: new Array<number>(column.vocabulary.length).fill(0),
    unseen: 0,
    missing: 0,
  };
}

/** A summary of no rows on a spec's bins. */
export function emptySummary(
  spec: Pick<Monitoring, "baselineId" | "columns" | "outputs">,
  at: Date | string = new Date(),
): DriftSummary {
  const time = typeof at === "string" ? at : at.toISOString();
  return {
    baselineId: spec.baselineId,
    rows: 0,
    windowStart: time,
    windowEnd: time,
    columns: Object.fromEntries(spec.columns.map((c) => [c.name, emptyColumnSummary(c)])),
    outputs: Object.fromEntries(spec.outputs.map((c) => [c.name, emptyColumnSummary(c)])),
  };
}

/** Summaries that cannot be added: different bins, or columns that do not line up. */
export class SummaryMismatchError extends Error {
  override readonly name = "SummaryMismatchError";
}

/**
 * Adds two summaries of the same bins: counts and offsets exactly, out-of-range sums as floats;
 * the window is the union. Commutative and associative (the float sums up to rounding). Throws
 * SummaryMismatchError for different baselineIds or columns; the inputs are never changed.
 */
export function mergeSummaries(a: DriftSummary, b: DriftSummary): DriftSummary {
  if (a.baselineId !== b.baselineId) {
    throw new SummaryMismatchError(`summaries of different baselines: ${a.baselineId} and ${b.baselineId}`);
  }
  return {
    baselineId: a.baselineId,
    rows: a.rows + b.rows,
    windowStart: earlier(a.windowStart, b.windowStart),
    windowEnd: earlier(a.windowEnd, b.windowEnd) === a.windowEnd ? b.windowEnd : a.windowEnd,
    columns: mergeGroup("columns", a.columns, b.columns),
    outputs: mergeGroup("outputs", a.outputs, b.outputs),
  };
}

/** The earlier of two times; ties broken by the string so the choice does not depend on order. */
function earlier(a: string, b: string): string {
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  if (ta !== tb) return ta < tb ? a : b;
  return a <= b ? a : b;
}

function mergeGroup(
  group: string,
  a: Record<string, ColumnSummary>,
  b: Record<string, ColumnSummary>,
): Record<string, ColumnSummary> {
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length || names.some((name) => !Object.hasOwn(b, name))) {
    throw new SummaryMismatchError(`${group} differ: ${names.join(", ")} vs ${Object.keys(b).join(", ")}`);
  }
  const merged: Record<string, ColumnSummary> = {};
  for (const name of names) merged[name] = mergeColumn(`${group}.${name}`, a[name]!, b[name]!);
  return merged;
}

function mergeColumn(path: string, a: ColumnSummary, b: ColumnSummary): ColumnSummary {
  if (a.kind !== b.kind || a.counts.length !== b.counts.length) {
    throw new SummaryMismatchError(`${path}: ${a.kind}[${a.counts.length}] vs ${b.kind}[${b.counts.length}]`);
  }
  const counts = add(a.counts, b.counts);
  if (a.kind === "categorical" && b.kind === "categorical") {
    return { kind: "categorical", counts, unseen: a.unseen + b.unseen, missing: a.missing + b.missing };
  }
  const x = a as NumericSummary;
  const y = b as NumericSummary;
  if (x.offsets.length !== y.offsets.length)
    throw new SummaryMismatchError(`${path}: offsets differ in length`);
  return {
    kind: "numeric",
    counts,
    below: x.below + y.below,
    above: x.above + y.above,
    missing: x.missing + y.missing,
    offsets: add(x.offsets, y.offsets),
    belowSum: x.belowSum + y.belowSum,
    aboveSum: x.aboveSum + y.aboveSum,
  };
}

function add(a: readonly number[], b: readonly number[]): number[] {
  return a.map((v, i) => v + b[i]!);
}

/** Mean of each bin's values, from the offsets (null for an empty bin). */
export function binMeans(column: Pick<NumericColumn, "edges">, summary: NumericSummary): (number | null)[] {
  const { edges } = column;
  return summary.counts.map((n, b) => {
    if (n === 0) return null;
    const lo = edges[b]!;
    const hi = edges[b + 1] ?? lo;
    return lo + ((hi - lo) * summary.offsets[b]!) / (OFFSET_STEPS * n);
  });
}

/** Rows a column saw in total (every row counts once: in a bin, out of range, unseen or missing). */
export function columnRows(summary: ColumnSummary): number {
  const binned = summary.counts.reduce((s, c) => s + c, 0);
  return summary.kind === "numeric"
    ? binned + summary.below + summary.above + summary.missing
    : binned + summary.unseen + summary.missing;
}

/**
 * Drift summaries for tests that play devices: per column, `rows` values drawn (seeded) from the
 * monitoring spec's own reference bins — what a device sees when nothing changed — optionally with
 * some columns' mass moved to their top bins and above the training range (a shift).
 */

import { mulberry32 } from "../../agent/drift/reservoir.js";
import type { MonitoredColumn, Monitoring } from "../../drift-summary/monitoring.js";
import type { ColumnSummary, DriftSummary } from "../../drift-summary/summary.js";
import { OFFSET_STEPS } from "../../drift-summary/summary.js";
import type { TelemetryWindow } from "../../wire/messages.js";
import { LATENCY_BUCKETS_MS } from "../../wire/messages.js";

/** A small seeded generator (the agent's reservoir PRNG). */
export const seeded = mulberry32;

function draw(weights: readonly number[], n: number, random: () => number): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const counts = weights.map(() => 0);
  for (let i = 0; i < n; i++) {
    let u = random() * total;
    let k = 0;
    while (k < weights.length - 1 && u >= weights[k]!) u -= weights[k++]!;
    counts[k]!++;
  }
  return counts;
}

function columnSummary(
  column: MonitoredColumn,
  rows: number,
  shifted: boolean,
  random: () => number,
): ColumnSummary {
  if (column.kind === "categorical") {
    const weights = shifted
      ? column.reference.counts.map((_, i, all) => (i === all.length - 1 ? 1 : 0))
      : column.reference.counts;
    return { kind: "categorical", counts: draw(weights, rows, random), unseen: 0, missing: 0 };
  }
  const bins = column.reference.counts.length;
  // A shift puts half the rows in the top bin and half above the training range.
  const weights = shifted
    ? [...column.reference.counts.map((_, i) => (i === bins - 1 ? 1 : 0)), 1]
    : [...column.reference.counts, 0];
  const drawn = draw(weights, rows, random);
  const counts = drawn.slice(0, bins);
  const above = drawn[bins]!;
  const top = column.edges.at(-1) ?? 0;
  return {
    kind: "numeric",
    counts,
    below: 0,
    above,
    missing: 0,
    offsets: counts.map((c) => c * (OFFSET_STEPS / 2)),
    belowSum: 0,
    aboveSum: above * (top + 1),
  };
}

/** A summary of `rows` rows; columns named in `shift` moved up. */
export function summaryFor(
  spec: Monitoring,
  rows: number,
  options: { seed: number; shift?: string[]; at?: Date },
): DriftSummary {
  const random = seeded(options.seed);
  const at = (options.at ?? new Date()).toISOString();
  const shift = new Set(options.shift ?? []);
  return {
    baselineId: spec.baselineId,
    rows,
    windowStart: at,
    windowEnd: at,
    columns: Object.fromEntries(
      spec.columns.map((c) => [c.name, columnSummary(c, rows, shift.has(c.name), random)]),
    ),
    outputs: Object.fromEntries(
      spec.outputs.map((c) => [c.name, columnSummary(c, rows, shift.has(c.name), random)]),
    ),
  };
}

/** A telemetry window carrying one module's drift summary. */
export function driftWindow(
  seq: number,
  module: { name: string; version: string },
  drift: DriftSummary,
): TelemetryWindow {
  return {
    protocol: 1,
    seq,
    windowStart: drift.windowStart,
    windowEnd: drift.windowEnd,
    modules: [
      {
        name: module.name,
        version: module.version,
        requests: drift.rows,
        errors: 0,
        latencyBucketsMs: [...LATENCY_BUCKETS_MS],
        latencyCounts: LATENCY_BUCKETS_MS.map(() => 0).concat([drift.rows]),
        latencySumMs: 0,
        inputs: [],
        drift,
      },
    ],
  };
}

/**
 * Statistics the health gates compare: windows added up per version, latency p95 from the fixed
 * histogram, total variation distance between label distributions, and a standardised mean shift
 * for numeric outputs. Pure.
 */
import { LATENCY_BUCKETS_MS, type ModuleWindow } from "../../wire/messages.js";

/** Telemetry of one module version, added up over windows and devices. */
export interface Aggregate {
  requests: number;
  errors: number;
  latencyCounts: number[];
  /** Per output name: label counts and numeric moments. */
  outputs: Map<
    string,
    { count: number; labels: Map<string, number>; n: number; sum: number; sumSquares: number }
  >;
}

/** An empty aggregate. */
export function emptyAggregate(): Aggregate {
  return {
    requests: 0,
    errors: 0,
    latencyCounts: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0),
    outputs: new Map(),
  };
}

/** Adds one window into an aggregate (in place) and returns it. */
export function addWindow(into: Aggregate, window: ModuleWindow): Aggregate {
  into.requests += window.requests;
  into.errors += window.errors;
  window.latencyCounts.forEach((count, i) => {
    if (i < into.latencyCounts.length) into.latencyCounts[i]! += count;
  });
  for (const output of window.outputs ?? []) {
    let summary = into.outputs.get(output.name);
    if (!summary) {
      summary = { count: 0, labels: new Map(), n: 0, sum: 0, sumSquares: 0 };
      into.outputs.set(output.name, summary);
    }
    summary.count += output.count;
    for (const [label, count] of Object.entries(output.labels ?? {}))
      summary.labels.set(label, (summary.labels.get(label) ?? 0) + count);
    if (output.sum !== undefined && output.sumSquares !== undefined) {
      summary.n += output.count;
      summary.sum += output.sum;
      summary.sumSquares += output.sumSquares;
    }
  }
  return into;
}

/**
 * The 95th-percentile latency as the upper bound of the bucket holding it (ms); the overflow
 * bucket reads as twice the last bound. Null without requests.
 */
export function p95(latencyCounts: readonly number[]): number | null {
  const total = latencyCounts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.ceil(total * 0.95);
  let seen = 0;
  for (let i = 0; i < latencyCounts.length; i++) {
    seen += latencyCounts[i]!;
    if (seen >= rank) return LATENCY_BUCKETS_MS[i] ?? LATENCY_BUCKETS_MS.at(-1)! * 2;
  }
  return LATENCY_BUCKETS_MS.at(-1)! * 2;
}

/** Total variation distance between two label count maps: half the L1 distance of the distributions (0–1). */
export function totalVariation(
  a: ReadonlyMap<string, number>,
  b: ReadonlyMap<string, number>,
): number | null {
  const totalA = [...a.values()].reduce((x, y) => x + y, 0);
  const totalB = [...b.values()].reduce((x, y) => x + y, 0);
  if (totalA === 0 || totalB === 0) return null;
  let distance = 0;
  for (const label of new Set([...a.keys(), ...b.keys()]))
    distance += Math.abs((a.get(label) ?? 0) / totalA - (b.get(label) ?? 0) / totalB);
  return distance / 2;
}

/** |mean_new − mean_prev| / std_prev; Infinity when the previous spread is zero and the means differ. */
export function meanShift(
  next: { n: number; sum: number },
  previous: { n: number; sum: number; sumSquares: number },
): number | null {
  if (next.n === 0 || previous.n === 0) return null;
  const meanNext = next.sum / next.n;
  const meanPrev = previous.sum / previous.n;
  const variance = Math.max(0, previous.sumSquares / previous.n - meanPrev * meanPrev);
  const diff = Math.abs(meanNext - meanPrev);
  const std = Math.sqrt(variance);
  if (std === 0) return diff === 0 ? 0 : Number.POSITIVE_INFINITY;
  return diff / std;
}

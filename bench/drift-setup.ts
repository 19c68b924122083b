/**
 * Shared machinery of the drift benchmark (D3–D6): the seeded 20-feature world of
 * hub/drift/simulation.ts, streams of windows with a history for the 4- and 16-window scales, our
 * detector (driftReport) and the peer: the same Holm correction over exact two-sample KS on the raw
 * rows (numeric) and chi-square on the category counts (categorical, exact already).
 */
import { rawKsPValue, rawKsStatistic } from "../hub/drift/binned-ks.js";
import { alignCounts } from "../hub/drift/bins.js";
import { chiSquare } from "../hub/drift/chi-square.js";
import { holm } from "../hub/drift/holm.js";
import { type DriftReport, driftReport } from "../hub/drift/report.js";
import {
  addSummaries,
  type FeatureSpec,
  Generator,
  type Shift,
  specFromTraining,
  standardFeatures,
  summarise,
} from "../hub/drift/simulation.js";
import type { DriftSummaryLike, MonitoringSpecLike } from "../hub/drift/types.js";

export const TRAINING_ROWS = 20_000;
export const ALPHA = 0.005;
export const SCALES = [1, 4, 16] as const;

export interface World {
  features: FeatureSpec[];
  spec: MonitoringSpecLike;
  /** Training values per numeric feature, sorted (the peer's reference). */
  sortedTraining: (Float64Array | null)[];
  generator: Generator;
}

/** The seeded world: features, training sample, spec. */
export function makeWorld(seed = 1): World {
  const features = standardFeatures();
  const generator = new Generator(features, seed);
  const training = generator.rows(TRAINING_ROWS);
  return {
    features,
    spec: specFromTraining(features, training),
    sortedTraining: features.map((f, j) =>
      f.kind === "categorical" ? null : Float64Array.from(training[j]!).sort(),
    ),
    generator,
  };
}

/** One window: raw rows and their summary. */
export interface Window {
  rows: Float64Array[];
  summary: DriftSummaryLike;
}

/** A window of n rows from the world (reference distribution unless shifted). */
export function drawWindow(world: World, n: number, shifts: Shift[] = []): Window {
  const rows = world.generator.rows(n, shifts);
  return { rows, summary: summarise(world.spec, rows) };
}

/** Our verdict on the latest window, with the 4- and 16-window scales where the history allows. */
export function ourReport(world: World, history: Window[], scales: readonly number[] = SCALES): DriftReport {
  const latest = history[history.length - 1]!;
  const wider = scales
    .filter((w) => w > 1 && history.length >= w)
    .map((w) => ({ windows: w, summary: addSummaries(history.slice(-w).map((h) => h.summary)) }));
  return driftReport(world.spec, latest.summary, { alpha: ALPHA, scales: wider });
}

/** The peer's verdict: exact raw-row KS (numeric) and chi-square (categorical), Holm across columns × scales. */
export function peerAlarm(world: World, history: Window[], scales: readonly number[] = SCALES): boolean {
  const pValues: number[] = [];
  for (const w of scales) {
    if (history.length < w) continue;
    const windows = history.slice(-w);
    world.features.forEach((feature, j) => {
      if (feature.kind === "categorical") {
        const summary = w === 1 ? windows[0]!.summary : addSummaries(windows.map((h) => h.summary));
        const column = world.spec.columns[j]!;
        const counts = alignCounts(column, summary.columns[column.name]!);
        pValues.push(chiSquare(counts.reference, counts.current).pValue);
        return;
      }
      const reference = world.sortedTraining[j]!;
      const current = concatSorted(windows.map((h) => h.rows[j]!));
      const d = rawKsStatistic(reference, current);
      pValues.push(rawKsPValue(d, reference.length, current.length));
    });
  }
  return holm(pValues, ALPHA).some(Boolean);
}

function concatSorted(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((t, p) => t + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out.sort();
}

/** Wilson 95 % interval of a rate, for printing. */
export function wilson(successes: number, trials: number): [number, number] {
  if (trials === 0) return [0, 1];
  const z = 1.96;
  const p = successes / trials;
  const centre = (p + (z * z) / (2 * trials)) / (1 + (z * z) / trials);
  const half =
    (z * Math.sqrt((p * (1 - p)) / trials + (z * z) / (4 * trials * trials))) / (1 + (z * z) / trials);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

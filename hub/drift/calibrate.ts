/**
 * Thresholds for the distance scores that depend on the window size (NannyML's idea): draw chunks of
 * n rows from the reference bins (seeded multinomial), score each chunk against the reference as a
 * live window would be scored, and take mean + 3σ of each score. Fixed thresholds (Evidently's 0.1)
 * fire on most small windows and miss slight shifts on large ones; these do neither.
 * Chunks reuse the reference bin means as their locations (a chunk has no sums of its own), which
 * leaves out the within-bin wobble of a live window's means: Wasserstein thresholds are a little low.
 * Results are cached per (baselineId, column, n, chunks, seed).
 */

import { emptyColumnSummary } from "../../drift-summary/summary.js";
import { seededRandom } from "../../modules/onnx/random.js";
import { alignCounts } from "./bins.js";
import { jensenShannon, psi, wassersteinOverStd } from "./distances.js";
import { multinomial } from "./multinomial.js";
import type { MonitoredColumn } from "./types.js";

export interface DistanceThresholds {
  js: number;
  psi: number;
  /** Numeric columns only. */
  wasserstein?: number;
}

export interface CalibrationOptions {
  chunks?: number;
  seed?: number;
  /** Keys the cache; without it nothing is cached. */
  baselineId?: string;
}

const DEFAULT_CHUNKS = 100;
const DEFAULT_SEED = 20_240_601;
const SIGMAS = 3;
const CACHE_LIMIT = 10_000;
const cache = new Map<string, DistanceThresholds>();

/** mean + 3σ of JS, PSI and W/std over reference chunks of `rows` rows. */
export function calibrateThresholds(
  column: MonitoredColumn,
  rows: number,
  options: CalibrationOptions = {},
): DistanceThresholds {
  const chunks = options.chunks ?? DEFAULT_CHUNKS;
  const seed = options.seed ?? DEFAULT_SEED;
  const n = Math.max(1, Math.round(rows));
  const key = options.baselineId ? `${options.baselineId}|${column.name}|${n}|${chunks}|${seed}` : undefined;
  const hit = key ? cache.get(key) : undefined;
  if (hit) return hit;
  const random = seededRandom(seed ^ hashName(column.name) ^ n);
  const aligned = alignCounts(column, emptyColumnSummary(column));
  const reference = aligned.reference;
  const scores: Record<keyof DistanceThresholds, number[]> = { js: [], psi: [], wasserstein: [] };
  for (let c = 0; c < chunks; c++) {
    const chunk = multinomial(n, reference, random);
    scores.js.push(jensenShannon(reference, chunk));
    scores.psi.push(psi(reference, chunk));
    if (column.kind === "numeric") {
      const locations = aligned.referenceLocations!;
      scores.wasserstein.push(
        wassersteinOverStd(
          { counts: reference, locations },
          { counts: chunk, locations },
          column.reference.std ?? 0,
        ),
      );
    }
  }
  const result: DistanceThresholds = { js: meanPlusSigmas(scores.js), psi: meanPlusSigmas(scores.psi) };
  if (column.kind === "numeric") result.wasserstein = meanPlusSigmas(scores.wasserstein);
  if (key) {
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(key, result);
  }
  return result;
}

function meanPlusSigmas(values: number[]): number {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return Number.NaN;
  const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
  const variance = finite.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, finite.length - 1);
  return mean + SIGMAS * Math.sqrt(variance);
}

function hashName(name: string): number {
  let h = 2_166_136_261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16_777_619);
  return h >>> 0;
}

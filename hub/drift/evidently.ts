/**
 * Evidently's default drift verdict, re-implemented on binned summaries so users can compare
 * (evidentlyai/evidently, src/evidently/legacy/calculations/stattests/registry.py
 * `_get_default_stattest` and the test files next to it; dataset rule in
 * legacy/calculations/data_drift.py `get_dataset_drift`). The switch looks at the REFERENCE size:
 *
 * | column      | reference rows | values | test                          | drift when    |
 * | ----------- | -------------- | ------ | ----------------------------- | ------------- |
 * | numeric     | ≤ 1000         | ≤ 2    | two-proportion z-test         | p < 0.05      |
 * | numeric     | ≤ 1000         | 3–5    | chi-square (one-sample)       | p < 0.05      |
 * | numeric     | ≤ 1000         | > 5    | two-sample KS                 | p ≤ 0.05      |
 * | categorical | ≤ 1000         | ≤ 2/>2 | z-test / chi-square           | p < 0.05      |
 * | numeric     | > 1000         | ≤ 5    | Jensen–Shannon (natural log)  | JS ≥ 0.1      |
 * | numeric     | > 1000         | > 5    | Wasserstein / max(std, 0.001) | W ≥ 0.1       |
 * | categorical | > 1000         | any    | Jensen–Shannon (natural log)  | JS ≥ 0.1      |
 * Dataset drift: share of drifted columns ≥ 0.5 (drift_share), no multiple-testing correction.
 *
 * Where summaries force an approximation: "values" is the number of non-empty bins in reference ∪
 * current (Evidently counts distinct raw values); KS runs on the bins (binned-ks.ts, Kolmogorov
 * null: a lower bound on scipy's statistic); Wasserstein places each bin's mass at its mean;
 * unseen categories are one bucket. Rows are non-missing rows (Evidently drops NaN first).
 */

import { binnedKs } from "./binned-ks.js";
import { type AlignedCounts, total } from "./bins.js";
import { jensenShannon, wassersteinOverStd } from "./distances.js";
import { chiSquareSurvival, normalSurvival } from "./special-functions.js";
import type { MonitoredColumn } from "./types.js";

export const EVIDENTLY_REFERENCE_SWITCH = 1000;
export const EVIDENTLY_P_THRESHOLD = 0.05;
export const EVIDENTLY_DISTANCE_THRESHOLD = 0.1;
export const EVIDENTLY_DRIFT_SHARE = 0.5;

export type EvidentlyTest = "z" | "chisquare" | "ks" | "jensenshannon" | "wasserstein";

export interface EvidentlyColumnVerdict {
  test: EvidentlyTest;
  /** p-value for z/chisquare/ks, distance otherwise. */
  score: number;
  threshold: number;
  drifted: boolean;
}

/** Evidently's default test and verdict for one column, on counts aligned by bins.ts. */
export function evidentlyVerdict(column: MonitoredColumn, counts: AlignedCounts): EvidentlyColumnVerdict {
  const { reference, current } = counts;
  const referenceRows = total(reference);
  let values = 0;
  for (let i = 0; i < reference.length; i++) if (reference[i]! + current[i]! > 0) values++;
  const small = referenceRows <= EVIDENTLY_REFERENCE_SWITCH;
  const pTest = (test: EvidentlyTest, p: number): EvidentlyColumnVerdict => ({
    test,
    score: p,
    threshold: EVIDENTLY_P_THRESHOLD,
    drifted: test === "ks" ? p <= EVIDENTLY_P_THRESHOLD : p < EVIDENTLY_P_THRESHOLD,
  });
  const distance = (test: EvidentlyTest, d: number): EvidentlyColumnVerdict => ({
    test,
    score: d,
    threshold: EVIDENTLY_DISTANCE_THRESHOLD,
    drifted: d >= EVIDENTLY_DISTANCE_THRESHOLD,
  });
  if (small) {
    if (column.kind === "numeric" && values > 5) {
      return pTest("ks", binnedKs(reference, current, { method: "kolmogorov" }).pValue);
    }
    return values > 2
      ? pTest("chisquare", oneSampleChiSquare(reference, current))
      : pTest("z", zTest(reference, current));
  }
  if (column.kind === "numeric" && values > 5) {
    return distance(
      "wasserstein",
      wassersteinOverStd(
        { counts: reference, locations: counts.referenceLocations! },
        { counts: current, locations: counts.currentLocations! },
        column.reference.std ?? 0,
      ),
    );
  }
  return distance("jensenshannon", jensenShannon(reference, current, Math.E));
}

/** Evidently's dataset rule: drift when the share of drifted columns reaches drift_share. */
export function evidentlyDatasetDrift(
  drifted: readonly boolean[],
  driftShare = EVIDENTLY_DRIFT_SHARE,
): boolean {
  if (drifted.length === 0) return false;
  return drifted.filter(Boolean).length / drifted.length >= driftShare;
}

/** scipy.stats.chisquare(f_obs = current, f_exp = reference · m/n) over the values seen on either side. */
function oneSampleChiSquare(reference: readonly number[], current: readonly number[]): number {
  const n = total(reference);
  const m = total(current);
  if (n === 0 || m === 0) return Number.NaN;
  let statistic = 0;
  let keys = 0;
  for (let i = 0; i < reference.length; i++) {
    if (reference[i]! + current[i]! === 0) continue;
    keys++;
    const expected = (reference[i]! * m) / n;
    if (expected === 0) return 0; // an observed value the reference never had: χ² = ∞, p = 0
    statistic += (current[i]! - expected) ** 2 / expected;
  }
  return chiSquareSurvival(statistic, keys - 1);
}

/** Evidently's two-proportion z-test on "is the first (sorted) value" vs the rest; p = 1 when both sides hold one identical value. */
function zTest(reference: readonly number[], current: readonly number[]): number {
  const first = reference.findIndex((c, i) => c + current[i]! > 0);
  if (first < 0) return Number.NaN;
  const n1 = total(reference);
  const n2 = total(current);
  if (n1 === 0 || n2 === 0) return Number.NaN;
  const onlyOne = reference.every((c, i) => i === first || c + current[i]! === 0);
  if (onlyOne) return 1;
  const p1 = (n1 - reference[first]!) / n1;
  const p2 = (n2 - current[first]!) / n2;
  const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  return Number.isFinite(z) ? 2 * normalSurvival(Math.abs(z)) : Number.NaN;
}

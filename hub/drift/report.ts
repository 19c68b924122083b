/**
 * driftReport: one window's summary (and optionally the same cohort aggregated over more windows)
 * against the monitoring spec's reference bins.
 *
 * Primary detector: per column a two-sample test — binned KS for numeric columns (grid null,
 * binned-ks.ts), chi-square for categorical ones — at every scale given (1 window, and e.g. 4 and 16
 * windows merged), with one Holm correction across every column (inputs and outputs) × scale × test.
 * The chance that any column alarms on a window without drift is therefore at most `alpha`.
 * Secondary evidence: JS, PSI and W/std compared with thresholds calibrated on reference chunks of
 * the window's size (calibrate.ts); they are reported and named in `reasons`, but do not make a
 * column drifted on their own (20 columns × 3 scores at mean + 3σ would alarm on most windows).
 * Also reported: data quality (data-quality.ts) and Evidently's default verdict (evidently.ts).
 */

import { binnedKs, type KsMethod } from "./binned-ks.js";
import { alignCounts, total } from "./bins.js";
import { type CalibrationOptions, calibrateThresholds, type DistanceThresholds } from "./calibrate.js";
import { chiSquare } from "./chi-square.js";
import { type ColumnQuality, columnQuality } from "./data-quality.js";
import { jensenShannon, psi, wassersteinOverStd } from "./distances.js";
import { DriftInputError } from "./errors.js";
import { type EvidentlyColumnVerdict, evidentlyDatasetDrift, evidentlyVerdict } from "./evidently.js";
import { holm } from "./holm.js";
import type { DriftSummaryLike, MonitoredColumn, MonitoringSpecLike } from "./types.js";

export const DEFAULT_ALPHA = 0.01;
/** Scales with fewer rows than this are not tested (too few rows say nothing and can identify people). */
export const DEFAULT_MIN_ROWS = 20;

export interface DriftReportOptions {
  /** Family-wise error rate across columns, scales and tests. */
  alpha?: number;
  /** The same cohort over more windows (merged summaries), e.g. [{windows: 4, …}, {windows: 16, …}]; `current` is scale 1. */
  scales?: { windows: number; summary: DriftSummaryLike }[];
  /** Distance thresholds per column name; others are calibrated (unless calibration is false). */
  thresholds?: Record<string, DistanceThresholds>;
  calibration?: CalibrationOptions | false;
  /** Also run chi-square on numeric columns (catches spread changes KS is slow on; costs a larger Holm family). */
  numericChiSquare?: boolean;
  ksMethod?: KsMethod;
  dataQualityAlpha?: number;
  minRows?: number;
}

export interface TestResult {
  statistic: number;
  pValue: number;
  df?: number;
}

export interface ColumnTests {
  ks?: TestResult;
  chi2?: TestResult;
}

export interface ColumnDrift {
  name: string;
  kind: "numeric" | "categorical";
  /** Tests on the current window (scale 1). */
  tests: ColumnTests;
  scores: { js: number; psi: number; wasserstein?: number };
  thresholds: DistanceThresholds | null;
  /** Scores above their calibrated thresholds (secondary evidence). */
  exceeded: ("js" | "psi" | "wasserstein")[];
  /** True when a test rejected under Holm at some scale. */
  drifted: boolean;
  /** Which (scale, test) rejected, smallest scale first. */
  fired: { windows: number; test: "ks" | "chi2"; pValue: number }[];
  reasons: string[];
  scales: { windows: number; rows: number; tests: ColumnTests }[];
  evidently: EvidentlyColumnVerdict;
}

export interface DriftReport {
  baselineId: string;
  rows: number;
  alpha: number;
  /** Any input column drifted. */
  datasetDrift: boolean;
  /** Scales (in windows) at which any test fired. */
  firedScales: number[];
  columns: ColumnDrift[];
  predictionDrift: { drifted: boolean; columns: ColumnDrift[] };
  dataQuality: { flagged: boolean; columns: ColumnQuality[] };
  evidently: { datasetDrift: boolean; driftedColumns: string[]; share: number };
  /** Spec columns the summary did not carry (not tested). */
  notSummarised: string[];
}

interface Entry {
  column: ColumnDrift;
  windows: number;
  test: "ks" | "chi2";
  pValue: number;
}

/** The drift report for `current` (one window) and optional wider scales. */
export function driftReport(
  spec: MonitoringSpecLike,
  current: DriftSummaryLike,
  options: DriftReportOptions = {},
): DriftReport {
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  if (!(alpha > 0 && alpha < 1)) throw new DriftInputError(`alpha must be in (0, 1), got ${alpha}`);
  const minRows = options.minRows ?? DEFAULT_MIN_ROWS;
  const scales = [{ windows: 1, summary: current }, ...(options.scales ?? [])];
  for (const scale of scales) {
    if (scale.summary.baselineId !== spec.baselineId) {
      throw new DriftInputError(
        `summary of ${scale.windows} window(s) counts on baseline ${scale.summary.baselineId}, the spec is ${spec.baselineId}`,
      );
    }
  }
  const notSummarised: string[] = [];
  const entries: Entry[] = [];
  const qualities: ColumnQuality[] = [];
  const build = (column: MonitoredColumn, role: "columns" | "outputs"): ColumnDrift | null => {
    const summary = current[role][column.name];
    if (!summary) {
      notSummarised.push(column.name);
      return null;
    }
    const aligned = alignCounts(column, summary);
    qualities.push(columnQuality(column, summary, options.dataQualityAlpha));
    const scores: ColumnDrift["scores"] = {
      js: jensenShannon(aligned.reference, aligned.current),
      psi: psi(aligned.reference, aligned.current),
    };
    if (column.kind === "numeric") {
      scores.wasserstein = wassersteinOverStd(
        { counts: aligned.reference, locations: aligned.referenceLocations! },
        { counts: aligned.current, locations: aligned.currentLocations! },
        column.reference.std ?? 0,
      );
    }
    const rows = total(aligned.current);
    const thresholds =
      options.thresholds?.[column.name] ??
      (options.calibration === false || rows === 0
        ? null
        : calibrateThresholds(column, rows, { baselineId: spec.baselineId, ...options.calibration }));
    const exceeded = thresholds
      ? (["js", "psi", "wasserstein"] as const).filter(
          (k) => scores[k] !== undefined && thresholds[k] !== undefined && scores[k]! > thresholds[k]!,
        )
      : [];
    const drift: ColumnDrift = {
      name: column.name,
      kind: column.kind,
      tests: {},
      scores,
      thresholds,
      exceeded,
      drifted: false,
      fired: [],
      reasons: [],
      scales: [],
      evidently: evidentlyVerdict(column, aligned),
    };
    for (const scale of scales) {
      const scaleSummary = scale.summary[role][column.name];
      if (!scaleSummary) continue;
      const counts = scale.windows === 1 ? aligned : alignCounts(column, scaleSummary);
      const scaleRows = total(counts.current);
      if (scaleRows < minRows) continue;
      const tests: ColumnTests = {};
      if (column.kind === "numeric") {
        const ks = binnedKs(counts.reference, counts.current, { method: options.ksMethod });
        tests.ks = { statistic: ks.statistic, pValue: ks.pValue };
        entries.push({ column: drift, windows: scale.windows, test: "ks", pValue: ks.pValue });
      }
      if (column.kind === "categorical" || options.numericChiSquare) {
        const chi = chiSquare(counts.reference, counts.current, { ordered: column.kind === "numeric" });
        tests.chi2 = { statistic: chi.statistic, pValue: chi.pValue, df: chi.df };
        entries.push({ column: drift, windows: scale.windows, test: "chi2", pValue: chi.pValue });
      }
      if (scale.windows === 1) drift.tests = tests;
      drift.scales.push({ windows: scale.windows, rows: scaleRows, tests });
    }
    return drift;
  };
  const inputs = spec.columns.map((c) => build(c, "columns")).filter((c): c is ColumnDrift => c !== null);
  const outputs = spec.outputs.map((c) => build(c, "outputs")).filter((c): c is ColumnDrift => c !== null);

  const rejected = holm(
    entries.map((e) => e.pValue),
    alpha,
  );
  const firedScales = new Set<number>();
  entries.forEach((entry, i) => {
    if (!rejected[i]) return;
    entry.column.drifted = true;
    entry.column.fired.push({ windows: entry.windows, test: entry.test, pValue: entry.pValue });
    firedScales.add(entry.windows);
  });
  for (const column of [...inputs, ...outputs]) {
    column.fired.sort((a, b) => a.windows - b.windows);
    for (const f of column.fired) {
      column.reasons.push(
        `${f.test} p=${f.pValue.toPrecision(3)} over ${f.windows} window(s) (Holm, alpha ${alpha})`,
      );
    }
    for (const k of column.exceeded) {
      column.reasons.push(
        `${k} ${column.scores[k]!.toPrecision(3)} above calibrated ${column.thresholds![k]!.toPrecision(3)} (secondary)`,
      );
    }
  }
  const all = [...inputs, ...outputs];
  const evidentlyDrifted = all.filter((c) => c.evidently.drifted).map((c) => c.name);
  return {
    baselineId: spec.baselineId,
    rows: current.rows,
    alpha,
    datasetDrift: inputs.some((c) => c.drifted),
    firedScales: [...firedScales].sort((a, b) => a - b),
    columns: inputs,
    predictionDrift: { drifted: outputs.some((c) => c.drifted), columns: outputs },
    dataQuality: { flagged: qualities.some((q) => q.flags.length > 0), columns: qualities },
    evidently: {
      datasetDrift: evidentlyDatasetDrift(all.map((c) => c.evidently.drifted)),
      driftedColumns: evidentlyDrifted,
      share: all.length > 0 ? evidentlyDrifted.length / all.length : 0,
    },
    notSummarised,
  };
}

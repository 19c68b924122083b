/**
 * How the monitors commands print what the hub answers: a monitor's definition, an evaluation's
 * verdict with its per-column table (our tests and scores next to Evidently's default verdict),
 * the per-column series and retraining cycles. The shapes are those of hub/monitors/verdict.ts and
 * hub/http/routes/monitors.ts, read loosely (a missing field prints "-").
 */
import { printTable } from "../output.js";

interface Tests {
  ks?: { statistic: number; pValue: number };
  chi2?: { statistic: number; pValue: number };
}
type Scores = { js: number; psi: number; wasserstein?: number };
type Thresholds = { js: number | null; psi: number | null; wasserstein?: number | null } | null;

export interface ColumnView {
  name: string;
  role: "input" | "output";
  kind: string;
  drifted: boolean;
  fired: { windows: number; test: string; pValue: number }[];
  scores: Scores;
  thresholds: Thresholds;
  exceeded: string[];
  scales: { windows: number; rows: number; tests: Tests }[];
}

export interface EvaluationView {
  id?: number;
  at: string;
  moduleVersion?: string;
  verdict: "ok" | "drift" | "no-data";
  rows: number;
  devices: number;
  windowEnd?: string | null;
  report: {
    fired?: { column: string; role: string; windows: number; test: string; pValue: number }[];
    columns?: ColumnView[];
    evidently?: { datasetDrift: boolean; driftedColumns: string[]; share: number } | null;
    foreignBaseline?: number;
    notSummarised?: string[];
    scales?: { windows: number; devices: number; summaries: number; rows: number }[];
  };
}

export interface MonitorView {
  id: string;
  name: string;
  module: string;
  moduleVersion: string;
  selector: { deviceIds?: string[]; tags?: Record<string, string> };
  settings: {
    alpha: number;
    scales: number[];
    minRows: number;
    includeOutputs: boolean;
    thresholds?: Record<string, number>;
  };
  intervalMs: number;
  action: { kind: string; retrain?: Record<string, unknown> };
  webhook: { url: string } | null;
  enabled: boolean;
  state: string;
  nextRunAt?: string;
  lastEvaluatedAt?: string | null;
  createdBy?: string;
  latestEvaluation?: EvaluationView | null;
}

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

/** 0.0123 → "0.0123", 1.2e-9 → "1.2e-9": p-values and scores short enough for a table. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "-";
  if (value === 0) return "0";
  const abs = Math.abs(value);
  if (abs < 1e-3 || abs >= 1e5) return value.toExponential(1).replace("e+", "e");
  return Number(value.toPrecision(3)).toString();
}

/** "1m", "90s", "2h": an interval back in the unit operators type. */
export function formatInterval(ms: number): string {
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export function formatSelector(selector: MonitorView["selector"]): string {
  const parts = [
    ...(selector.deviceIds?.length ? [`devices=${selector.deviceIds.join("|")}`] : []),
    ...Object.entries(selector.tags ?? {}).map(([k, v]) => `${k}=${v}`),
  ];
  return parts.join(",") || "-";
}

/** The smallest raw p-value over scales and tests, e.g. "ks 1.2e-9 (4w)". */
function smallestP(column: ColumnView): string {
  let best: { test: string; p: number; windows: number } | undefined;
  for (const scale of column.scales) {
    for (const [test, result] of Object.entries(scale.tests)) {
      if (result && (!best || result.pValue < best.p))
        best = { test, p: result.pValue, windows: scale.windows };
    }
  }
  if (!best) return "-";
  return `${best.test} ${formatNumber(best.p)}${column.scales.length > 1 ? ` (${best.windows}w)` : ""}`;
}

/** "0.031/0.020!" (score over threshold, "!" when exceeded); the score alone without a threshold. */
function scoreVsThreshold(column: ColumnView, key: "js" | "psi" | "wasserstein"): string {
  const score = column.scores[key];
  if (score === undefined) return "-";
  const threshold = column.thresholds?.[key];
  const text =
    threshold === undefined || threshold === null
      ? formatNumber(score)
      : `${formatNumber(score)}/${formatNumber(threshold)}`;
  return column.exceeded.includes(key) ? `${text}!` : text;
}

/** One row per column of an evaluation's report. */
export function columnRows(evaluation: EvaluationView): Record<string, unknown>[] {
  const evidently = new Set(evaluation.report.evidently?.driftedColumns ?? []);
  return (evaluation.report.columns ?? []).map((c) => ({
    column: c.role === "output" ? `${c.name} (output)` : c.name,
    kind: c.kind,
    p: smallestP(c),
    fired: c.fired.length > 0 ? c.fired.map((f) => `${f.windows}w ${f.test}`).join(",") : "-",
    js: scoreVsThreshold(c, "js"),
    psi: scoreVsThreshold(c, "psi"),
    wasserstein: scoreVsThreshold(c, "wasserstein"),
    drifted: c.drifted ? "DRIFT" : "no",
    evidently: evaluation.report.evidently ? (evidently.has(c.name) ? "drift" : "no") : "-",
  }));
}

const COLUMN_HEADERS = ["column", "kind", "p", "fired", "js", "psi", "wasserstein", "drifted", "evidently"];

/** The verdict in one line, e.g. "verdict DRIFT: 300 rows from 2 device(s); fired: x1 (1w ks p=1e-9)". */
export function verdictLine(evaluation: EvaluationView): string {
  const fired = evaluation.report.fired ?? [];
  const word =
    evaluation.verdict === "drift" ? "DRIFT" : evaluation.verdict === "ok" ? "OK (no drift)" : "NO DATA";
  const what =
    fired.length > 0
      ? `; fired: ${fired.map((f) => `${f.column} (${f.windows}w ${f.test} p=${formatNumber(f.pValue)})`).join(", ")}`
      : "";
  return `verdict ${word}: ${evaluation.rows} rows from ${evaluation.devices} device(s)${what}`;
}

/** The verdict line, the column table and what was left out. */
export function printEvaluation(evaluation: EvaluationView): void {
  out(verdictLine(evaluation));
  const evidently = evaluation.report.evidently;
  if (evidently)
    out(
      `Evidently's default: dataset drift ${evidently.datasetDrift ? "yes" : "no"} (${evidently.driftedColumns.length} column(s), share ${formatNumber(evidently.share)})`,
    );
  const scales = evaluation.report.scales ?? [];
  if (scales.length > 0) out(`scales: ${scales.map((s) => `${s.windows}w ${s.rows} rows`).join(", ")}`);
  if (evaluation.report.foreignBaseline)
    out(`left out: ${evaluation.report.foreignBaseline} summaries counted on another baseline`);
  if (evaluation.report.notSummarised?.length)
    out(`not summarised by devices: ${evaluation.report.notSummarised.join(", ")}`);
  const rows = columnRows(evaluation);
  if (rows.length === 0) return;
  out("");
  printTable(rows, COLUMN_HEADERS, false);
  out(
    "p: smallest raw p-value before Holm; js/psi/wasserstein: score/threshold, ! over it (evidence, never alarming alone)",
  );
}

/** A monitor's definition, then its latest evaluation. */
export function printMonitor(monitor: MonitorView): void {
  const s = monitor.settings;
  out(`monitor ${monitor.name} (${monitor.id}): ${monitor.state}${monitor.enabled ? "" : ", disabled"}`);
  out(`watches ${monitor.module}@${monitor.moduleVersion} on ${formatSelector(monitor.selector)}`);
  out(
    `every ${formatInterval(monitor.intervalMs)}, alpha ${s.alpha}, scales ${s.scales.join(",")}, min rows ${s.minRows}, outputs ${s.includeOutputs ? "included" : "excluded"}${
      s.thresholds
        ? `, thresholds ${Object.entries(s.thresholds)
            .map(([k, v]) => `${k}=${v}`)
            .join(",")}`
        : ""
    }`,
  );
  out(
    `action ${monitor.action.kind}${monitor.action.retrain ? ` ${JSON.stringify(monitor.action.retrain)}` : ""}${monitor.webhook ? `; webhook ${monitor.webhook.url}` : ""}`,
  );
  if (monitor.lastEvaluatedAt)
    out(`last evaluated ${monitor.lastEvaluatedAt}, next ${monitor.nextRunAt ?? "-"}`);
  out("");
  if (!monitor.latestEvaluation) {
    out("not evaluated yet");
    return;
  }
  out(`latest evaluation ${monitor.latestEvaluation.at}:`);
  printEvaluation(monitor.latestEvaluation);
}

export interface SeriesPoint {
  at: string;
  windowEnd: string | null;
  verdict: string;
  drifted: boolean;
  fired: { windows: number; test: string; pValue: number }[];
  scales: { windows: number; rows: number; tests: Tests }[];
  scores: Scores;
  thresholds: Thresholds;
  exceeded: string[];
}

/** One row per evaluation: the column's p-value per scale and test, its scores and what fired. */
export function seriesRows(points: SeriesPoint[]): Record<string, unknown>[] {
  return points.map((point) => {
    const column = { ...point, name: "", role: "input" as const, kind: "" };
    return {
      at: point.at,
      verdict: point.verdict,
      ...Object.fromEntries(
        point.scales.flatMap((scale) =>
          Object.entries(scale.tests).map(([test, r]) => [
            `p ${test} ${scale.windows}w`,
            formatNumber(r?.pValue),
          ]),
        ),
      ),
      js: scoreVsThreshold(column, "js"),
      psi: scoreVsThreshold(column, "psi"),
      wasserstein: scoreVsThreshold(column, "wasserstein"),
      fired: point.fired.length > 0 ? point.fired.map((f) => `${f.windows}w ${f.test}`).join(",") : "-",
      drifted: point.drifted ? "DRIFT" : "no",
    };
  });
}

export interface CycleView {
  id: string;
  status: string;
  alertId?: string | null;
  error?: string | null;
  state?: Record<string, unknown>;
  startedAt: string;
  finishedAt?: string | null;
  steps: { at: string; step: string; status: string; message: string }[];
}

/** Each cycle in a line, then its steps. */
export function printCycles(cycles: CycleView[]): void {
  if (cycles.length === 0) {
    out("(no retraining cycles)");
    return;
  }
  for (const [i, cycle] of cycles.entries()) {
    if (i > 0) out("");
    out(
      `cycle ${cycle.id}: ${cycle.status}, started ${cycle.startedAt}${cycle.finishedAt ? `, finished ${cycle.finishedAt}` : ""}${cycle.alertId ? ` (alert ${cycle.alertId})` : " (started by hand)"}`,
    );
    if (cycle.error) out(`error: ${cycle.error}`);
    const state = Object.entries(cycle.state ?? {}).filter(([, v]) => v !== null && v !== undefined);
    if (state.length > 0)
      out(
        `state: ${state.map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ")}`,
      );
    printTable(cycle.steps, ["at", "step", "status", "message"], false);
  }
}

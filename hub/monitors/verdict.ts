/**
 * From hub/drift's report (one Holm correction across every column, output, scale and test, at the
 * monitor's alpha) to a monitor verdict and the compact record evaluations store and the series
 * route plots: per column the tests at each scale, the distance scores and their thresholds.
 * Distance scores over their thresholds are secondary evidence (named, never alarming on their
 * own: see hub/drift/report.ts). Pure.
 */
import type { MonitorSettings } from "../db/schema/drift.js";
import type { DriftReport } from "./drift-lib.js";

type ReportColumn = DriftReport["columns"][number];

export interface CompactColumn {
  name: string;
  role: "input" | "output";
  kind: string;
  drifted: boolean;
  fired: ReportColumn["fired"];
  scores: ReportColumn["scores"];
  thresholds: ReportColumn["thresholds"];
  exceeded: ReportColumn["exceeded"];
  /** Per scale: rows and each test's statistic and p-value. */
  scales: ReportColumn["scales"];
}

export interface Verdict {
  verdict: "ok" | "drift" | "no-data";
  /** Columns that fired: at which scale, which test, which p-value. */
  fired: { column: string; role: "input" | "output"; windows: number; test: string; pValue: number }[];
  firedScales: number[];
  columns: CompactColumn[];
  dataQuality: { flagged: boolean; columns: unknown[] };
  evidently: DriftReport["evidently"] | null;
  notSummarised: string[];
}

function compact(column: ReportColumn, role: "input" | "output"): CompactColumn {
  return {
    name: column.name,
    role,
    kind: column.kind,
    drifted: column.drifted,
    fired: column.fired,
    scores: column.scores,
    thresholds: column.thresholds,
    exceeded: column.exceeded,
    scales: column.scales,
  };
}

/** The verdict of a report (null: nothing to test); outputs count only when the monitor includes them. */
export function verdictOf(
  report: DriftReport | null,
  settings: Pick<MonitorSettings, "includeOutputs">,
): Verdict {
  if (!report) {
    return {
      verdict: "no-data",
      fired: [],
      firedScales: [],
      columns: [],
      dataQuality: { flagged: false, columns: [] },
      evidently: null,
      notSummarised: [],
    };
  }
  const columns = [
    ...report.columns.map((c) => compact(c, "input")),
    ...report.predictionDrift.columns.map((c) => compact(c, "output")),
  ];
  const counted = columns.filter((c) => c.role === "input" || settings.includeOutputs);
  const fired = counted.flatMap((c) =>
    c.fired.map((f) => ({
      column: c.name,
      role: c.role,
      windows: f.windows,
      test: f.test,
      pValue: f.pValue,
    })),
  );
  const tested = columns.some((c) => c.scales.length > 0);
  return {
    verdict: !tested ? "no-data" : fired.length > 0 ? "drift" : "ok",
    fired,
    firedScales: [...new Set(fired.map((f) => f.windows))].sort((a, b) => a - b),
    columns,
    dataQuality: {
      flagged: report.dataQuality.flagged,
      columns: report.dataQuality.columns.filter((q) => (q as { flags?: unknown[] }).flags?.length),
    },
    evidently: report.evidently,
    notSummarised: report.notSummarised,
  };
}

/** Metrics as the CLI prints them: flattened, 4 significant digits, one headline per run. */
import type { MetricGroups } from "../hub-api/training.js";

/** `{test: {accuracy: 0.9}}` → `{"test.accuracy": 0.9}`, groups in test, validation, train order. */
export function flattenMetrics(metrics: MetricGroups | null | undefined): Record<string, number> {
  const flat: Record<string, number> = {};
  for (const group of ["test", "validation", "train"] as const) {
    for (const [name, value] of Object.entries(metrics?.[group] ?? {})) {
      if (typeof value === "number") flat[`${group}.${name}`] = value;
    }
  }
  return flat;
}

/** A metric value as people read it: 4 significant digits. */
export function formatMetric(value: number | undefined): string {
  if (value === undefined || value === null) return "-";
  if (!Number.isFinite(value)) return String(value);
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

/** The test metric that sums a run or version up in one cell (accuracy, macro F1, RMSE, R²). */
export function headlineMetric(metrics: MetricGroups | null | undefined): string | undefined {
  const test = metrics?.test ?? {};
  const name =
    ["accuracy", "macroF1", "rmse", "r2"].find((m) => typeof test[m] === "number") ?? Object.keys(test)[0];
  return name === undefined ? undefined : `${name} ${formatMetric(test[name])}`;
}

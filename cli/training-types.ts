/**
 * The CLI's view of the hub's training answers (datasets, runs, workers, model versions), as
 * `.tmp/contracts/training-api.md` describes them. Only the fields the CLI reads; `--json` prints
 * whatever the hub sent.
 */

export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "cancelling" | "cancelled";

/** Statuses a run never leaves. */
export const TERMINAL_RUN_STATUSES: ReadonlySet<string> = new Set(["succeeded", "failed", "cancelled"]);

export type MetricGroups = Partial<Record<"test" | "validation" | "train", Record<string, number>>>;

export interface Attempt {
  n: number;
  workerId: string;
  status: string;
  leaseExpiresAt?: string;
  startedAt?: string;
  finishedAt?: string;
  error?: { code: string; message: string };
}

export interface Run {
  id: string;
  experiment: string;
  status: RunStatus;
  spec: {
    recipe: string;
    task?: string;
    target?: string;
    dataset: { name: string; version?: string };
    params?: Record<string, unknown>;
    seed?: number;
    script?: { snapshot: string; command: string };
    register?: { model: string; aliases?: string[] };
    compute?: Record<string, unknown>;
    maxAttempts?: number;
    [key: string]: unknown;
  };
  attempts: Attempt[];
  attempt: number;
  metrics: MetricGroups;
  outputs: {
    model?: { name: string; version: number | string };
    onnxSha256?: string;
    leaderboard?: unknown;
    parity?: unknown;
  };
  error?: { code: string; message: string };
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
}

export interface DatasetColumn {
  name: string;
  kind: string;
  note?: string;
  stats?: Record<string, unknown>;
}

export interface DatasetVersion {
  name: string;
  version: string;
  format: string;
  bytes: number;
  rows: number;
  target?: string;
  task?: string;
  columns: DatasetColumn[];
  createdAt: string;
}

export interface LogLine {
  seq: number;
  attempt: number;
  stream: string;
  text: string;
  at?: string;
}

export interface ModelVersionView {
  modelName?: string;
  version: number;
  sha256?: string;
  aliases?: string[];
  lineage?: Record<string, unknown> | null;
  metrics?: MetricGroups | null;
  [key: string]: unknown;
}

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

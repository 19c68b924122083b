/**
 * Tabular preprocessing: JSON feature rows → the model's [batch, features] FP32 tensor, in the
 * manifest's feature order, standardised with the training-time mean/std. Pure: no onnxruntime, so
 * the agent, the hub (for previews) and tests share it.
 */
import type { Manifest, TabularFeature } from "./manifest.js";

/** Rows refused before inference; `details.problems` lists each problem with its row and feature. */
export class InputError extends Error {
  override readonly name = "InputError";

  /** `details` is safe to return to the caller (it holds only positions and feature names). */
  constructor(
    message: string,
    readonly details?: { problems: InputProblem[] },
  ) {
    super(message);
  }
}

export interface InputProblem {
  row: number;
  feature?: string;
  message: string;
}

export interface TabularFeed {
  datatype: "FP32";
  data: Float32Array;
  shape: [number, number];
}

export interface TabularOptions {
  /** Largest batch accepted (default DEFAULT_MAX_ROWS). */
  maxRows?: number;
}

/** Default batch limit: a device scores small batches; larger ones belong to batch jobs. */
export const DEFAULT_MAX_ROWS = 1024;
const MAX_REPORTED_PROBLEMS = 10;

type Row = Record<string, unknown> | unknown[];

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const show = (value: unknown): string =>
  typeof value === "string"
    ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
    : String(value);

/** Normalises the accepted request shapes to a list of rows. */
function toRows(request: unknown): Row[] {
  if (isPlainObject(request)) return [request];
  if (!Array.isArray(request)) {
    throw new InputError("expected a feature object, an array of feature objects, or arrays of numbers");
  }
  if (request.length === 0) throw new InputError("the batch is empty: send at least one row");
  // A flat list of numbers is a single row in feature order.
  if (request.every((v) => typeof v === "number" || v === null)) return [request];
  return request.map((row, index) => {
    if (isPlainObject(row) || Array.isArray(row)) return row;
    throw new InputError(
      `row ${index} must be an object of features or an array of numbers, got ${show(row)}`,
      {
        problems: [{ row: index, message: "not an object or array" }],
      },
    );
  });
}

/** Builds the model feeds for tabular rows; throws InputError naming every bad row and feature. */
export function tabularFeeds(
  manifest: Manifest,
  request: unknown,
  options: TabularOptions = {},
): Record<string, TabularFeed> {
  const pre = manifest.preprocessing;
  if (pre.kind !== "tabular") {
    throw new InputError(
      `module "${manifest.name}" has no tabular preprocessing; send model tensors instead`,
    );
  }
  const rows = toRows(request);
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  if (rows.length > maxRows)
    throw new InputError(`the batch has ${rows.length} rows; the limit is ${maxRows}`);

  const features = pre.features;
  const known = new Set(features.map((f) => f.name));
  const data = new Float32Array(rows.length * features.length);
  const problems: InputProblem[] = [];
  const problem = (row: number, message: string, feature?: string) => {
    problems.push(feature === undefined ? { row, message } : { row, feature, message });
  };

  rows.forEach((row, r) => {
    if (Array.isArray(row)) {
      if (row.length !== features.length) {
        problem(
          r,
          `row ${r} has ${row.length} values; expected ${features.length} (${[...known].join(", ")})`,
        );
        return;
      }
    } else {
      for (const key of Object.keys(row)) {
        if (!known.has(key))
          problem(r, `unknown feature "${key}" in row ${r}; known: ${[...known].join(", ")}`, key);
      }
    }
    features.forEach((feature, f) => {
      // Own properties only: a feature called "constructor" must not read Object.prototype.
      const raw = Array.isArray(row)
        ? row[f]
        : Object.hasOwn(row, feature.name)
          ? row[feature.name]
          : undefined;
      const value = featureValue(feature, raw, r, problem);
      if (value !== undefined)
        data[r * features.length + f] = (value - (feature.mean ?? 0)) / (feature.std ?? 1);
    });
  });

  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : "";
    throw new InputError(`${problems[0]!.message}${more}`, {
      problems: problems.slice(0, MAX_REPORTED_PROBLEMS),
    });
  }
  return { [pre.input]: { datatype: "FP32", data, shape: [rows.length, features.length] } };
}

/** The raw value of one feature, its default when absent (undefined or null), or a recorded problem. */
function featureValue(
  feature: TabularFeature,
  raw: unknown,
  row: number,
  problem: (row: number, message: string, feature?: string) => void,
): number | undefined {
  if (raw === undefined || raw === null) {
    if (feature.default !== undefined) return feature.default;
    problem(row, `missing feature "${feature.name}" in row ${row} (it has no default)`, feature.name);
    return undefined;
  }
  if (typeof raw === "string" && feature.categories) return feature.categories.indexOf(raw);
  if (typeof raw !== "number" || !Number.isFinite(raw)) {
    problem(
      row,
      `feature "${feature.name}" in row ${row} must be a finite number, got ${show(raw)}`,
      feature.name,
    );
    return undefined;
  }
  return raw;
}

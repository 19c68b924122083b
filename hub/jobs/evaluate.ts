/**
 * The hub's own check of a finished run's model before it is registered: the ONNX file parses,
 * onnxruntime loads it, and on the run's test split (re-derived from the dataset bytes with the
 * run's seed and fractions, so the rows are the worker's) it gives the metrics the worker
 * reported (built-in recipes) or the predictions the script wrote (script runs). All test rows go
 * through one session.run.
 *
 * CPU work on files only (no database, no hub state): it runs in a worker thread
 * (evaluate-thread.ts, started by completion-check.ts), and its input and output cross the thread
 * boundary, so both are plain data.
 */
import { readFile } from "node:fs/promises";
import type { BaselineProfile } from "../../drift-summary/baseline.js";
import { InvalidModelError, inspectOnnx, type OnnxInfo } from "../../modules/onnx/inspect.js";
import { metricsOf } from "../../training/auto.js";
import { buildBaseline } from "../../training/baseline.js";
import { type DatasetFormat, NO_DATASET_LIMITS } from "../../training/dataset/read.js";
import { DatasetError, TrainingError } from "../../training/errors.js";
import type { Metrics } from "../../training/evaluate/metrics.js";
import {
  compareOutputs,
  type OnnxOutputs,
  type ParityReport,
  runOnnx,
} from "../../training/evaluate/onnx-check.js";
import { feedsFromColumns, type moduleFeatures, VECTOR_INPUT } from "../../training/features/inputs.js";
import { loadRunDataset, type TestSplit, testSplit } from "../../training/run-data.js";
import type { RunSpec } from "./spec.js";

/** Why the hub refused a model; the run fails with this code and is not retried. */
export class CompletionError extends Error {
  override readonly name = "CompletionError";
  constructor(
    readonly code: CompletionErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const COMPLETION_ERROR_CODES = ["invalid_model", "evaluation", "parity"] as const;
export type CompletionErrorCode = (typeof COMPLETION_ERROR_CODES)[number];

/** What the worker reports with `complete` (see the training API contract). */
export interface CompletionResult {
  recipe?: string;
  params?: Record<string, unknown>;
  metrics?: {
    test?: Record<string, unknown>;
    validation?: Record<string, unknown> | null;
    train?: Record<string, unknown>;
  };
  leaderboard?: unknown[];
  history?: unknown[];
  parity?: { ok?: boolean } & Record<string, unknown>;
  baseline?: Record<string, unknown>;
  features?: { name: string }[];
  classes?: string[];
  /** Script runs: the trainer's own outputs on the test split, flat (rows × classes, or rows). */
  predictions?: number[];
}

/** What the check reads: the files by path (read in the thread), the run's spec and the worker's result. */
export interface EvaluationInput {
  spec: RunSpec;
  kind: "builtin" | "script";
  /** The uploaded ONNX model (its blob file). */
  onnxPath: string;
  /** The dataset version's blob file. */
  dataset: { path: string; format: DatasetFormat };
  /** The spec's extra rows (JSON Lines blob file), if any. */
  extraRowsPath?: string;
  result: CompletionResult;
}

export interface Evaluation {
  info: OnnxInfo;
  testMetrics: Metrics;
  /** Rows in the test split. */
  testRows: number;
  /** The split's classes (empty for regression) and the manifest features, as the trainer learned them. */
  classes: string[];
  moduleFeatures: ReturnType<typeof moduleFeatures>;
  /** ONNX vs the script's predictions; absent when none were given (or a built-in recipe). */
  parity?: ParityReport;
  /** Computed by the hub for script runs (built-in runs report theirs). */
  baseline?: BaselineProfile;
}

/** Largest difference between a metric the worker measured and the hub's own. */
const METRIC_TOLERANCE = 1e-3;

async function outputsOf(
  bytes: Uint8Array,
  feeds: TestSplit["feeds"],
  classes: number,
): Promise<OnnxOutputs> {
  try {
    return await runOnnx(bytes, feeds, classes);
  } catch (error) {
    throw new CompletionError(
      "invalid_model",
      `onnxruntime cannot load or run the model on the test split: ${(error as Error).message}`,
    );
  }
}

function compareMetrics(reported: Record<string, unknown>, measured: Metrics): string[] {
  const differences: string[] = [];
  for (const [name, value] of Object.entries(measured)) {
    const theirs = reported[name];
    if (theirs === undefined) continue;
    if (value === null || theirs === null) {
      if (value !== theirs) differences.push(`${name}: worker ${theirs}, hub ${value}`);
    } else if (typeof theirs !== "number" || !(Math.abs(theirs - value) <= METRIC_TOLERANCE)) {
      differences.push(`${name}: worker ${String(theirs)}, hub ${value}`);
    }
  }
  return differences;
}

/**
 * Checks and evaluates a run's ONNX model; throws CompletionError when the model is refused. Any
 * other error (a file that cannot be read, a bug) is the hub's, not the model's.
 */
export async function evaluateModel(input: EvaluationInput): Promise<Evaluation> {
  const { spec, kind, result } = input;
  const bytes = new Uint8Array(await readFile(input.onnxPath));
  let info: OnnxInfo;
  try {
    info = inspectOnnx(bytes);
  } catch (error) {
    if (error instanceof InvalidModelError) throw new CompletionError("invalid_model", error.message);
    throw error;
  }
  if (!info.inputs.some((input) => input.name === VECTOR_INPUT)) {
    throw new CompletionError(
      "invalid_model",
      `the model must take the vector input "${VECTOR_INPUT}" [batch, features]; it takes ${info.inputs.map((i) => i.name).join(", ")}`,
    );
  }

  const extraRows = input.extraRowsPath ? new Uint8Array(await readFile(input.extraRowsPath)) : undefined;
  let split: TestSplit;
  try {
    const dataset = await loadRunDataset(input.dataset, spec, {
      ...(extraRows ? { extraRows } : {}),
      limits: NO_DATASET_LIMITS,
    });
    split = testSplit(dataset, spec);
  } catch (error) {
    // The data refuses the spec: not retryable. A read error is not the data's fault: it propagates.
    if (!(error instanceof DatasetError || error instanceof TrainingError)) throw error;
    throw new CompletionError("evaluation", `cannot rebuild the test split: ${error.message}`);
  }
  const described = {
    testRows: split.rows.length,
    classes: split.classes,
    moduleFeatures: split.moduleFeatures,
  };

  const classes = split.classes.length;
  const outputs = await outputsOf(bytes, split.feeds, classes);
  const expected = split.rows.length * Math.max(classes, 1);
  if (outputs.values.length !== expected) {
    throw new CompletionError(
      "invalid_model",
      `the model gives ${outputs.values.length} output values for ${split.rows.length} test rows; expected ${expected}`,
    );
  }
  const testMetrics = metricsOf(spec.task, Float64Array.from(outputs.values), split.y, classes);

  if (kind === "builtin") {
    if (result.parity && result.parity.ok === false) {
      throw new CompletionError(
        "parity",
        "the worker reports that the ONNX model disagrees with the trainer",
        result.parity,
      );
    }
    if (result.classes && JSON.stringify(result.classes) !== JSON.stringify(split.classes)) {
      throw new CompletionError("evaluation", "the worker's classes differ from the dataset's", {
        worker: result.classes,
        hub: split.classes,
      });
    }
    const differences = compareMetrics(result.metrics?.test ?? {}, testMetrics);
    if (differences.length > 0) {
      throw new CompletionError(
        "evaluation",
        `the model's test metrics differ from what the worker reported: ${differences.join("; ")}`,
        { reported: result.metrics?.test, measured: testMetrics },
      );
    }
    return { info, testMetrics, ...described };
  }

  let parity: ParityReport | undefined;
  if (result.predictions !== undefined) {
    parity = compareOutputs(Float64Array.from(result.predictions), outputs, classes);
    if (!parity.ok) {
      throw new CompletionError(
        "parity",
        `the ONNX model disagrees with the script's predictions on the test split (max difference ${parity.maxAbsDiff}, ${parity.labelMismatches} label mismatches)`,
        parity,
      );
    }
  }
  // Script runs report no profile: the hub builds it from the training rows and the model's outputs.
  const { prepared } = split;
  const trainFeeds = feedsFromColumns(prepared.encoder, prepared.features, prepared.split.train, "vector");
  const trainOutputs = await outputsOf(bytes, trainFeeds, classes);
  const baseline = buildBaseline(
    prepared,
    spec.dataset.version,
    Float64Array.from(trainOutputs.values),
    "vector",
  );
  return { info, testMetrics, ...described, ...(parity ? { parity } : {}), baseline };
}

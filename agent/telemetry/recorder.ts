/**
 * Per-module request statistics for one telemetry window: counts, errors, a latency histogram on
 * the fleet-wide fixed buckets (so the hub can add windows from any device), and per-input
 * summaries (count, missing, min, max, sum, sum of squares) that drift monitors compare with the
 * training baseline. Recording is a few additions; nothing is kept per request.
 */
import {
  type InputSummary,
  LATENCY_BUCKETS_MS,
  type ModuleWindow,
  type OutputSummary,
} from "../../wire/messages.js";

/** One request's outcome. */
export interface RecordOptions {
  module: string;
  version: string;
  latencyMs: number;
  ok: boolean;
  /**
   * Raw feature values by input feature name, for tabular requests: one row, or one object per
   * row of a batch. Anything but a finite number (absent, null, a string) counts as missing.
   */
  features?: FeatureRow | readonly FeatureRow[];
  /**
   * The feature names to summarise. When given, only these keys are read from each row (so a
   * request's extra keys cost nothing and absent features count as missing) and rows can be the
   * request's own objects, with no copy. Without it, every key of each row is summarised.
   */
  featureNames?: readonly string[];
  /**
   * The postprocessed predictions of a request that scored (one per row). Classifier labels
   * (`label`, or the first of `top`) are counted per label under the output name "label"; finite
   * numbers of raw predictions get count, sum, sum of squares, min and max per output name. The
   * hub's rollout gates compare these between versions (prediction shift).
   */
  predictions?: readonly unknown[];
}

export type FeatureRow = Readonly<Record<string, unknown>>;

interface InputStats {
  count: number;
  missing: number;
  min: number;
  max: number;
  sum: number;
  sumSquares: number;
}

interface ModuleStats {
  name: string;
  version: string;
  requests: number;
  errors: number;
  labelled: number;
  correct: number;
  latencyCounts: number[];
  latencySumMs: number;
  inputs: Map<string, InputStats>;
  outputs: Map<string, OutputStats>;
}

interface OutputStats {
  count: number;
  labels: Map<string, number>;
  sum: number;
  sumSquares: number;
  min: number;
  max: number;
}

/**
 * Index of the latency bucket for a value: bucket i holds latencies in (bound[i-1], bound[i]];
 * the extra last slot holds everything above the last bound. Counts are per bucket, not
 * cumulative, so they add up across windows and devices and sum to `requests`.
 */
export function latencyBucketIndex(latencyMs: number): number {
  for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) {
    if (latencyMs <= LATENCY_BUCKETS_MS[i]!) return i;
  }
  return LATENCY_BUCKETS_MS.length;
}

/** Accumulates request outcomes per module version until the next takeWindow(). */
export class TelemetryRecorder {
  #modules = new Map<string, ModuleStats>();

  /** Adds one request's outcome to the current window. */
  record(options: RecordOptions): void {
    const stats = this.#statsFor(options.module, options.version);
    stats.requests++;
    if (!options.ok) stats.errors++;
    const latency = Number.isFinite(options.latencyMs) && options.latencyMs > 0 ? options.latencyMs : 0;
    stats.latencyCounts[latencyBucketIndex(latency)]!++;
    stats.latencySumMs += latency;
    for (const prediction of options.predictions ?? []) addPrediction(stats.outputs, prediction);
    const features = options.features;
    if (features === undefined) return;
    const names = options.featureNames;
    if (isRowList(features)) {
      for (const row of features) addRow(stats.inputs, row, names);
    } else {
      addRow(stats.inputs, features, names);
    }
  }

  /** Counts one ground-truth label for a prediction of this module version; `correct` when it matched. */
  recordFeedback(options: { module: string; version: string; correct: boolean }): void {
    const stats = this.#statsFor(options.module, options.version);
    stats.labelled++;
    if (options.correct) stats.correct++;
  }

  /** Returns the window's statistics, one entry per module version seen, and starts a new window. */
  takeWindow(): ModuleWindow[] {
    const taken = this.#modules;
    this.#modules = new Map();
    return [...taken.values()].map((stats) => ({
      name: stats.name,
      version: stats.version,
      requests: stats.requests,
      errors: stats.errors,
      latencyBucketsMs: [...LATENCY_BUCKETS_MS],
      latencyCounts: stats.latencyCounts,
      latencySumMs: stats.latencySumMs,
      inputs: [...stats.inputs.entries()].map(([name, input]): InputSummary => {
        const seen = input.count - input.missing > 0;
        return {
          name,
          count: input.count,
          missing: input.missing,
          min: seen ? input.min : null,
          max: seen ? input.max : null,
          sum: input.sum,
          sumSquares: input.sumSquares,
        };
      }),
      ...(stats.outputs.size > 0 ? { outputs: outputSummaries(stats.outputs) } : {}),
      // Only windows that saw feedback carry the fields, so older hubs and tests see no change.
      ...(stats.labelled > 0 ? { labelled: stats.labelled, correct: stats.correct } : {}),
    }));
  }

  #statsFor(name: string, version: string): ModuleStats {
    // "@" cannot occur in a module name, so the key is unambiguous.
    const key = `${name}@${version}`;
    let stats = this.#modules.get(key);
    if (stats === undefined) {
      stats = {
        name,
        version,
        requests: 0,
        errors: 0,
        labelled: 0,
        correct: 0,
        latencyCounts: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0),
        latencySumMs: 0,
        inputs: new Map(),
        outputs: new Map(),
      };
      this.#modules.set(key, stats);
    }
    return stats;
  }
}

function isRowList(features: FeatureRow | readonly FeatureRow[]): features is readonly FeatureRow[] {
  return Array.isArray(features);
}

function addRow(
  inputs: Map<string, InputStats>,
  row: FeatureRow,
  names: readonly string[] | undefined,
): void {
  if (names === undefined) {
    for (const name in row) addValue(inputs, name, row[name]);
  } else {
    for (const name of names) addValue(inputs, name, Object.hasOwn(row, name) ? row[name] : undefined);
  }
}

function addValue(inputs: Map<string, InputStats>, name: string, value: unknown): void {
  let input = inputs.get(name);
  if (input === undefined) {
    input = {
      count: 0,
      missing: 0,
      min: Number.POSITIVE_INFINITY,
      max: Number.NEGATIVE_INFINITY,
      sum: 0,
      sumSquares: 0,
    };
    inputs.set(name, input);
  }
  input.count++;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    input.missing++;
    return;
  }
  if (value < input.min) input.min = value;
  if (value > input.max) input.max = value;
  input.sum += value;
  input.sumSquares += value * value;
}

function outputStats(outputs: Map<string, OutputStats>, name: string): OutputStats {
  let stats = outputs.get(name);
  if (stats === undefined) {
    stats = {
      count: 0,
      labels: new Map(),
      sum: 0,
      sumSquares: 0,
      min: Number.POSITIVE_INFINITY,
      max: Number.NEGATIVE_INFINITY,
    };
    outputs.set(name, stats);
  }
  return stats;
}

/** Adds one postprocessed prediction: a classifier's label, or a raw prediction's numbers. */
function addPrediction(outputs: Map<string, OutputStats>, prediction: unknown): void {
  if (prediction === null || typeof prediction !== "object") return;
  const record = prediction as Record<string, unknown>;
  const top = Array.isArray(record.top) ? (record.top[0] as { label?: unknown } | undefined) : undefined;
  const label = typeof record.label === "string" ? record.label : top?.label;
  if (typeof label === "string") {
    const stats = outputStats(outputs, "label");
    stats.count++;
    stats.labels.set(label, (stats.labels.get(label) ?? 0) + 1);
    return;
  }
  for (const [name, value] of Object.entries(record)) {
    // A raw output of one value per row arrives as a number or a one-element array.
    const number = Array.isArray(value) && value.length === 1 ? value[0] : value;
    if (typeof number !== "number" || !Number.isFinite(number)) continue;
    const stats = outputStats(outputs, name);
    stats.count++;
    stats.sum += number;
    stats.sumSquares += number * number;
    if (number < stats.min) stats.min = number;
    if (number > stats.max) stats.max = number;
  }
}

function outputSummaries(outputs: Map<string, OutputStats>): OutputSummary[] {
  return [...outputs.entries()].map(
    ([name, o]): OutputSummary =>
      o.labels.size > 0
        ? { name, count: o.count, labels: Object.fromEntries(o.labels) }
        : { name, count: o.count, sum: o.sum, sumSquares: o.sumSquares, min: o.min, max: o.max },
  );
}

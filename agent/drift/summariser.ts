/**
 * Drift summary of one module version's scored rows on its manifest's monitoring bins
 * (drift-summary/monitoring.ts → drift-summary/summary.ts). Built for the scoring path: the spec is compiled
 * once into typed arrays; per request the tensors are looked up by name once; per row and column it
 * is one typed-array read, a binary search over the edges (numeric) or a code check / Map lookup
 * (categorical) and a few additions. Nothing is allocated per row.
 *
 * Inputs are read before the run (`capture`): a worker executor takes ownership of the feeds'
 * buffers. They count only when the run succeeded (`commit`), together with the outputs.
 */

import { type MonitoredColumn, type Monitoring, numericBinCount } from "../../drift-summary/monitoring.js";
import {
  type ColumnSummary,
  type DriftSummary,
  emptySummary,
  OFFSET_STEPS,
  OUT_OF_RANGE_DIGITS,
} from "../../drift-summary/summary.js";
import type { Manifest } from "../../modules/manifest.js";

/** A tensor as the summariser reads it (onnxruntime's Tensor fits). */
export interface TensorView {
  readonly data: unknown;
  readonly dims: readonly number[];
}
export type TensorMap = Readonly<Record<string, TensorView>>;

/** One monitored column, compiled. */
export interface CompiledColumn {
  name: string;
  numeric: boolean;
  tensor: string;
  /** Column within the row; -1: argmax over the row. */
  index: number;
  /** x → x * scale + shift (undoes tabular standardisation for `{ feature }` sources). */
  scale: number;
  shift: number;
  edges: Float64Array;
  /** Per bin: OFFSET_STEPS / width (0 for a zero-width bin), so offsets need no division per row. */
  stepsPerUnit: Float64Array;
  /** Bins: 0 when the column has no edges (every present value is `above`). */
  bins: number;
  vocabulary: readonly string[];
  codes: Map<string, number>;
  counts: Float64Array;
  offsets: Float64Array;
  /** numeric: below, above, missing, belowSum, aboveSum; categorical: unseen, missing. */
  scalars: Float64Array;
}

/** Capture buffers kept for reuse (concurrent requests each hold one until commit). */
const POOL_SIZE = 8;
const BELOW = 0;
const ABOVE = 1;
const MISSING = 2;
const BELOW_SUM = 3;
const ABOVE_SUM = 4;
const UNSEEN = 0;
const CAT_MISSING = 1;

/** Compiles columns; `{ feature }` sources resolve to the tabular input's column. */
export function compileColumns(columns: readonly MonitoredColumn[], manifest: Manifest): CompiledColumn[] {
  return columns.map((column) => {
    const source = column.source;
    let tensor: string;
    let index = 0;
    let scale = 1;
    let shift = 0;
    if ("feature" in source) {
      const pre = manifest.preprocessing;
      if (pre.kind !== "tabular") throw new Error(`column "${column.name}": no tabular preprocessing`);
      index = pre.features.findIndex((f) => f.name === source.feature);
      if (index < 0) throw new Error(`column "${column.name}": "${source.feature}" is not a tabular feature`);
      const feature = pre.features[index]!;
      tensor = pre.input;
      scale = feature.std ?? 1;
      shift = feature.mean ?? 0;
    } else if ("input" in source) {
      tensor = source.input;
      index = source.index ?? 0;
    } else {
      tensor = source.output;
      index = "argmax" in source ? -1 : (source.index ?? 0);
    }
    const numeric = column.kind === "numeric";
    // A float32 tensor holds fround(x): compare it with fround(edge), so a value equal to an edge
    // (quantile edges are data values) lands in the bin the baseline counted it in.
    const tensors = "output" in source ? manifest.outputs : manifest.inputs;
    const float32 = tensors.find((t) => t.name === tensor)?.datatype === "FP32" && scale === 1 && shift === 0;
    const edges = Float64Array.from(numeric ? column.edges : [], float32 ? Math.fround : Number);
    const bins = column.kind === "numeric" ? numericBinCount(column.edges) : 0;
    const vocabulary = numeric ? [] : column.vocabulary;
    const stepsPerUnit = new Float64Array(bins);
    for (let b = 0; b < bins; b++) {
      const width = (b + 1 < edges.length ? edges[b + 1]! : edges[b]!) - edges[b]!;
      stepsPerUnit[b] = width > 0 ? OFFSET_STEPS / width : 0;
    }
    return {
      name: column.name,
      numeric,
      tensor,
      index,
      scale,
      shift,
      edges,
      stepsPerUnit,
      bins,
      vocabulary,
      codes: new Map(vocabulary.map((v, k) => [v, k])),
      counts: new Float64Array(numeric ? bins : vocabulary.length),
      offsets: new Float64Array(bins),
      scalars: new Float64Array(numeric ? 5 : 2),
    };
  });
}

/** Reads one row's value of a column from a tensor's data (NaN: missing); categoricals give their code. */
export function readValue(column: CompiledColumn, data: unknown, stride: number, row: number): number {
  if (column.index === -1) return argmaxOf(data as ArrayLike<number>, stride, row);
  if (column.index >= stride) return Number.NaN;
  const raw = (data as ArrayLike<unknown>)[row * stride + column.index];
  if (typeof raw === "number") return raw * column.scale + column.shift;
  if (typeof raw === "bigint") return Number(raw) * column.scale + column.shift;
  if (typeof raw === "string") {
    if (column.numeric) return Number.NaN;
    if (raw === "") return Number.NaN;
    return column.codes.get(raw) ?? -1;
  }
  if (typeof raw === "boolean") return raw ? 1 : 0;
  return Number.NaN;
}

function argmaxOf(data: ArrayLike<number | bigint>, stride: number, row: number): number {
  if (stride === 0) return Number.NaN;
  const base = row * stride;
  let best = 0;
  let bestValue = data[base]!;
  for (let k = 1; k < stride; k++) {
    const v = data[base + k]!;
    if (v > bestValue) {
      best = k;
      bestValue = v;
    }
  }
  return best;
}

/** Elements per row of a [batch, ...] tensor. */
export function strideOf(tensor: TensorView, rows: number): number {
  const length = (tensor.data as ArrayLike<unknown>).length;
  return rows > 0 ? Math.floor(length / rows) : 0;
}

/** Adds one value to a column (NaN = missing; categoricals: a code). */
export function addValue(column: CompiledColumn, x: number): void {
  const s = column.scalars;
  if (Number.isNaN(x)) {
    s[column.numeric ? MISSING : CAT_MISSING]!++;
    return;
  }
  if (!column.numeric) {
    const k = x | 0;
    if (k === x && k >= 0 && k < column.counts.length) column.counts[k]!++;
    else s[UNSEEN]!++;
    return;
  }
  const edges = column.edges;
  const last = edges.length - 1;
  // Infinities count as out of range but stay out of the sums (JSON has no Infinity).
  if (last < 0 || x > edges[last]!) {
    s[ABOVE]!++;
    if (Number.isFinite(x)) s[ABOVE_SUM]! += x;
    return;
  }
  if (x < edges[0]!) {
    s[BELOW]!++;
    if (Number.isFinite(x)) s[BELOW_SUM]! += x;
    return;
  }
  // Largest b with edges[b] <= x, capped at the last bin (which includes its upper edge).
  let lo = 0;
  let hi = column.bins - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (edges[mid]! <= x) lo = mid;
    else hi = mid - 1;
  }
  column.counts[lo]!++;
  column.offsets[lo]! += Math.round((x - edges[lo]!) * column.stepsPerUnit[lo]!);
}

/** Float tensors (the common case) read without readValue's type dispatch. */
function isFloatArray(data: unknown): data is Float32Array | Float64Array {
  return data instanceof Float32Array || data instanceof Float64Array;
}

function columnSummary(column: CompiledColumn): ColumnSummary {
  const s = column.scalars;
  if (!column.numeric) {
    return {
      kind: "categorical",
      counts: Array.from(column.counts),
      unseen: s[UNSEEN]!,
      missing: s[CAT_MISSING]!,
    };
  }
  return {
    kind: "numeric",
    counts: Array.from(column.counts),
    below: s[BELOW]!,
    above: s[ABOVE]!,
    missing: s[MISSING]!,
    offsets: Array.from(column.offsets),
    // Few significant digits: the sums only place the out-of-range mass (drift-summary/summary.ts).
    belowSum: Number(s[BELOW_SUM]!.toPrecision(OUT_OF_RANGE_DIGITS)),
    aboveSum: Number(s[ABOVE_SUM]!.toPrecision(OUT_OF_RANGE_DIGITS)),
  };
}

/** Input values of one request, captured before the run: rows × input columns, row-major. */
export interface CapturedInputs {
  rows: number;
  values: Float64Array;
}

/** Accumulates one module version's rows until `take()`. */
export class DriftSummariser {
  readonly spec: Monitoring;
  readonly inputs: CompiledColumn[];
  readonly outputs: CompiledColumn[];
  #rows = 0;
  #firstAt: number | undefined;
  /** Capture buffers given back by commit: allocating a typed array costs more than summarising a row. */
  #pool: Float64Array[] = [];

  constructor(spec: Monitoring, manifest: Manifest) {
    this.spec = spec;
    this.inputs = compileColumns(spec.columns, manifest);
    this.outputs = compileColumns(spec.outputs, manifest);
  }

  /** Rows summarised since the last take. */
  get rows(): number {
    return this.#rows;
  }

  /** Reads the monitored input values of a request's feeds (one allocation per request). */
  capture(feeds: TensorMap, rows: number): CapturedInputs {
    const columns = this.inputs;
    const width = columns.length;
    const values = this.#buffer(rows * width);
    for (let c = 0; c < width; c++) {
      const column = columns[c]!;
      const tensor = feeds[column.tensor];
      if (tensor === undefined) {
        for (let r = 0; r < rows; r++) values[r * width + c] = Number.NaN;
        continue;
      }
      const stride = strideOf(tensor, rows);
      const data = tensor.data;
      if (isFloatArray(data) && column.numeric && column.index >= 0 && column.index < stride) {
        const { index, scale, shift } = column;
        for (let r = 0; r < rows; r++) values[r * width + c] = data[r * stride + index]! * scale + shift;
      } else {
        for (let r = 0; r < rows; r++) values[r * width + c] = readValue(column, data, stride, r);
      }
    }
    return { rows, values };
  }

  /** Counts a scored request: its captured inputs and its outputs (absent outputs count as missing). */
  commit(captured: CapturedInputs, outputs: TensorMap, now = Date.now()): void {
    const { rows, values } = captured;
    if (rows === 0) return;
    const width = this.inputs.length;
    for (let c = 0; c < width; c++) {
      const column = this.inputs[c]!;
      for (let r = 0; r < rows; r++) addValue(column, values[r * width + c]!);
    }
    for (const column of this.outputs) {
      const tensor = outputs[column.tensor];
      if (tensor === undefined) {
        for (let r = 0; r < rows; r++) addValue(column, Number.NaN);
        continue;
      }
      const stride = strideOf(tensor, rows);
      const data = tensor.data;
      if (isFloatArray(data) && column.numeric && column.index >= 0 && column.index < stride) {
        for (let r = 0; r < rows; r++) addValue(column, data[r * stride + column.index]!);
      } else {
        for (let r = 0; r < rows; r++) addValue(column, readValue(column, data, stride, r));
      }
    }
    this.#rows += rows;
    this.#firstAt ??= now;
  }

  /** Gives a committed capture's buffer back for reuse; the capture must not be read afterwards. */
  recycle(captured: CapturedInputs): void {
    if (this.#pool.length < POOL_SIZE) this.#pool.push(captured.values);
  }

  #buffer(length: number): Float64Array {
    for (let i = this.#pool.length - 1; i >= 0; i--) {
      const buffer = this.#pool[i]!;
      if (buffer.length >= length) {
        this.#pool.splice(i, 1);
        return buffer;
      }
    }
    return new Float64Array(Math.max(length, 64));
  }

  /** The summary since the last take (undefined when no row came), and a fresh start. */
  take(now = Date.now()): DriftSummary | undefined {
    if (this.#rows === 0) return undefined;
    const summary = emptySummary(this.spec, new Date(this.#firstAt ?? now));
    summary.rows = this.#rows;
    summary.windowEnd = new Date(now).toISOString();
    for (const column of this.inputs) summary.columns[column.name] = columnSummary(column);
    for (const column of this.outputs) summary.outputs[column.name] = columnSummary(column);
    for (const column of [...this.inputs, ...this.outputs]) {
      column.counts.fill(0);
      column.offsets.fill(0);
      column.scalars.fill(0);
    }
    this.#rows = 0;
    this.#firstAt = undefined;
    return summary;
  }
}

/**
 * Compact wire form of a DriftSummary (`driftPacked` on a telemetry module window). The JSON form
 * spends its bytes on per-bin counts and offsets written out in decimal; here they travel as
 * residuals from what the monitoring spec's training reference and the fields before them predict
 * (drift-summary/predict.ts), Rice-coded in one bit stream (drift-summary/bit-stream.ts), base64 in JSON. The
 * spec pins the layout (baselineId is the hash of its columns), so no names travel: both ends walk
 * `spec.columns`, then `spec.outputs`, in order. Decoding is exact and needs the same spec; data
 * that does not fit it is a PackedSummaryError, never a partial summary.
 *
 * Stream, format 1: a format byte, then per column —
 * - numeric: missing, then below and above (one Rice group: Exp-Golomb k, two residuals), then
 *   T = Σ counts, each a zigzag residual from rows × the reference's rate (T from
 *   rows − missing − below − above); the counts model bit
 *   (chain / ratio) when there are two bins or more; the counts' Rice parameter (zigzag
 *   Exp-Golomb difference from log2 √(T/bins)) and counts of bins 0…B−2 as Rice zigzag residuals
 *   from `predictCount`, the last bin being what is left of T; when T > 0, the offsets' Rice
 *   parameter (difference from log2 √(T/bins · 21)) and the offsets of the non-empty bins as
 *   residuals from `predictOffsets` (inner bins, then the two tail bins with their own parameter);
 *   belowSum and aboveSum (`writeFloat`, exponent guessed from count × edge).
 * - categorical: missing, unseen, T, then counts per vocabulary entry (chain model only: a
 *   vocabulary has no order that drift would respect).
 * The last byte is padded with zero bits.
 */
import { z } from "zod";
import { SHA256_HEX_PATTERN } from "../lib/files.js";
import {
  BitReader,
  BitStreamError,
  BitWriter,
  readFloat,
  riceBits,
  unzigzag,
  writeFloat,
  zigzag,
} from "./bit-stream.js";
import type { CategoricalColumn, Monitoring, NumericColumn } from "./monitoring.js";
import {
  type CountModel,
  expectedCount,
  expectedRiceK,
  predictCount,
  predictOffsets,
  shares,
} from "./predict.js";
import {
  binsOf,
  type CategoricalSummary,
  type DriftSummary,
  DriftSummarySchema,
  type NumericSummary,
  OFFSET_STEPS,
  OUT_OF_RANGE_DIGITS,
} from "./summary.js";

export const PACKED_FORMAT = 1;
/** Longest packed string accepted (base64 characters): far above any spec's summary. */
export const MAX_PACKED_CHARS = 1_000_000;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Largest Rice parameter. */
const MAX_K = 40;
/** √ of the variance of round(16·u) for u uniform in a bin: the spread of one value's offset. */
const OFFSET_SPREAD = Math.sqrt((OFFSET_STEPS * OFFSET_STEPS) / 12);

export const PackedDriftSummarySchema = z.object({
  /** The monitoring spec's baselineId: which spec decodes `packed`. */
  baselineId: z.string().regex(SHA256_HEX_PATTERN, "sha256 as 64 lowercase hex characters"),
  /** base64 of the bit stream described in drift-summary/codec.ts (rows and window times included). */
  packed: z.string().max(MAX_PACKED_CHARS).regex(BASE64, "packed must be base64"),
});
export type PackedDriftSummary = z.infer<typeof PackedDriftSummarySchema>;

/** A summary that does not fit the spec it is encoded on, or packed data that does not decode on it. */
export class PackedSummaryError extends Error {
  override readonly name = "PackedSummaryError";
}

export type CodecSpec = Pick<Monitoring, "baselineId" | "columns" | "outputs">;

/** The packed wire form of a summary counted on `spec`'s bins; PackedSummaryError when it does not fit the spec. */
export function encodeSummary(summary: DriftSummary, spec: CodecSpec): PackedDriftSummary {
  if (summary.baselineId !== spec.baselineId) {
    throw new PackedSummaryError(
      `a summary of baseline ${summary.baselineId} cannot be packed on ${spec.baselineId}`,
    );
  }
  const w = new BitWriter();
  w.bits(PACKED_FORMAT, 8);
  w.expGolomb(summary.rows);
  writeTimes(w, summary.windowStart, summary.windowEnd);
  for (const group of ["columns", "outputs"] as const) {
    const summaries = summary[group];
    const names = Object.keys(summaries);
    if (
      names.length !== spec[group].length ||
      names.some((name) => !spec[group].some((c) => c.name === name))
    ) {
      throw new PackedSummaryError(`${group} ${names.join(", ")} are not the spec's`);
    }
    for (const column of spec[group]) {
      const path = `${group}.${column.name}`;
      const s = summaries[column.name];
      if (s === undefined) throw new PackedSummaryError(`${path}: no summary`);
      if (column.kind === "numeric" && s.kind === "numeric") writeNumeric(w, column, s, summary.rows, path);
      else if (column.kind === "categorical" && s.kind === "categorical")
        writeCategorical(w, column, s, summary.rows, path);
      else throw new PackedSummaryError(`${path}: a ${s.kind} summary of a ${column.kind} column`);
    }
  }
  return { baselineId: summary.baselineId, packed: Buffer.from(w.finish()).toString("base64") };
}

/** The summary a packed form carries, decoded on `spec`; PackedSummaryError when it does not fit. */
export function decodeSummary(packed: PackedDriftSummary, spec: CodecSpec): DriftSummary {
  const envelope = PackedDriftSummarySchema.safeParse(packed);
  if (!envelope.success) {
    const issue = envelope.error.issues[0];
    throw new PackedSummaryError(`invalid packed summary: ${issue?.path.join(".")} ${issue?.message}`);
  }
  if (packed.baselineId !== spec.baselineId) {
    throw new PackedSummaryError(`packed on baseline ${packed.baselineId}, not on ${spec.baselineId}`);
  }
  const r = new BitReader(Buffer.from(packed.packed, "base64"));
  try {
    const format = r.bits(8);
    if (format !== PACKED_FORMAT) throw new PackedSummaryError(`unknown packed format ${format}`);
    const rows = checkCount(r.expGolomb(), "rows", "the row count");
    const [windowStart, windowEnd] = readTimes(r);
    const summary: DriftSummary = {
      baselineId: packed.baselineId,
      rows,
      windowStart,
      windowEnd,
      columns: {},
      outputs: {},
    };
    for (const group of ["columns", "outputs"] as const) {
      for (const column of spec[group]) {
        const path = `${group}.${column.name}`;
        summary[group][column.name] =
          column.kind === "numeric"
            ? readNumeric(r, column, rows, path)
            : readCategorical(r, column, rows, path);
      }
    }
    r.end();
    // No second DriftSummarySchema pass (it was a third of the hub's decode time): every count is
    // checked as it is read (checkCount, offsets against their bin), floats by readFloat, times by
    // readTimes, and the rest — kinds, array lengths, names — is built from the spec.
    return summary;
  } catch (error) {
    if (error instanceof BitStreamError) throw new PackedSummaryError(`packed summary: ${error.message}`);
    throw error;
  }
}

/**
 * Window times: an ISO time in the form toISOString writes travels as its milliseconds (windowEnd
 * as zigzag in 50 bits, windowStart as a zigzag Exp-Golomb difference from it); any other form as
 * its characters (7 bits each), so every valid time comes back as the same string.
 */
function writeTimes(w: BitWriter, start: string, end: string): void {
  const canonical = (t: string) => {
    const ms = Date.parse(t);
    return Number.isFinite(ms) && new Date(ms).toISOString() === t ? ms : undefined;
  };
  const endMs = canonical(end);
  const startMs = canonical(start);
  const text = (t: string) => {
    if (t.length > 64 || !/^[\x20-\x7e]*$/.test(t))
      throw new PackedSummaryError(`window time "${t}" is not an ISO time`);
    w.expGolomb(t.length);
    for (const ch of t) w.bits(ch.charCodeAt(0) & 0x7f, 7);
  };
  if (endMs === undefined || startMs === undefined) {
    w.bit(1);
    text(start);
    text(end);
    return;
  }
  w.bit(0);
  w.bits(zigzag(endMs), 50);
  w.expGolomb(zigzag(endMs - startMs));
}

/** The schema's window time rule (ISO 8601 with an offset), for times that travel as text. */
const isoTime = DriftSummarySchema.shape.windowStart;

function readTimes(r: BitReader): [string, string] {
  if (r.bit() === 1) {
    const text = () => {
      const length = r.expGolomb();
      if (length > 64) throw new PackedSummaryError(`a window time of ${length} characters`);
      const t = Array.from({ length }, () => String.fromCharCode(r.bits(7))).join("");
      if (!isoTime.safeParse(t).success)
        throw new PackedSummaryError(`window time "${t}" is not an ISO time`);
      return t;
    };
    return [text(), text()];
  }
  const endMs = unzigzag(r.bits(50));
  const startMs = endMs - unzigzag(r.expGolomb());
  const iso = (ms: number) => {
    const date = new Date(ms);
    if (Number.isNaN(date.getTime())) throw new PackedSummaryError(`window time ${ms} ms is out of range`);
    const t = date.toISOString();
    // Years outside 0000…9999 print as ±YYYYYY, which the schema's ISO times do not accept.
    if (t.length !== 24) throw new PackedSummaryError(`window time ${t} is outside the years 0000…9999`);
    return t;
  };
  return [iso(startMs), iso(endMs)];
}

function sum(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0);
}

/** The Rice parameter that makes a group of (zigzagged) residuals shortest, and their bits. */
function bestK(values: readonly number[]): { k: number; bits: number } {
  let best = { k: 0, bits: Number.POSITIVE_INFINITY };
  for (let k = 0; k <= MAX_K; k++) {
    let bits = 0;
    for (const u of values) bits += riceBits(u, k);
    if (bits < best.bits) best = { k, bits };
  }
  return best;
}

function readK(r: BitReader, guess: number, path: string): number {
  const k = guess + unzigzag(r.expGolomb());
  if (k < 0 || k > MAX_K) throw new PackedSummaryError(`${path}: Rice parameter ${k} outside 0…${MAX_K}`);
  return k;
}

/** A count as a zigzag Exp-Golomb residual. */
function writeCount(w: BitWriter, value: number, predicted: number): void {
  w.expGolomb(zigzag(value - predicted));
}

/** A count as the schema wants it, a safe integer ≥ 0 (residuals can add up beyond 2^53, or to NaN on a bad spec). */
function checkCount(v: number, path: string, what: string): number {
  if (!(Number.isSafeInteger(v) && v >= 0)) throw new PackedSummaryError(`${path}: ${what} decodes to ${v}`);
  return v;
}

function readCount(r: BitReader, predicted: number, path: string, what: string): number {
  return checkCount(predicted + unzigzag(r.expGolomb()), path, what);
}

function countResiduals(model: CountModel, counts: readonly number[], p: readonly number[]): number[] {
  const total = sum(counts);
  let left = total;
  const residuals: number[] = [];
  for (let b = 0; b < counts.length - 1; b++) {
    residuals.push(zigzag(counts[b]! - predictCount(model, counts, p, total, left, b)));
    left -= counts[b]!;
  }
  return residuals;
}

/** Counts of entries 0…n−2 (the last is what is left of their total, written before). */
function writeCounts(
  w: BitWriter,
  counts: readonly number[],
  p: readonly number[],
  models: readonly CountModel[],
) {
  if (counts.length <= 1) return;
  let best: { model: CountModel; residuals: number[]; k: number; bits: number } | undefined;
  for (const model of models) {
    const residuals = countResiduals(model, counts, p);
    const fit = bestK(residuals);
    if (best === undefined || fit.bits < best.bits) best = { model, residuals, ...fit };
  }
  if (models.length > 1) w.bit(best!.model === "ratio" ? 1 : 0);
  w.expGolomb(zigzag(best!.k - expectedRiceK(sum(counts) / counts.length, 1, MAX_K)));
  for (const u of best!.residuals) w.rice(u, best!.k);
}

function readCounts(
  r: BitReader,
  total: number,
  p: readonly number[],
  models: readonly CountModel[],
  path: string,
): number[] {
  const n = p.length;
  if (n === 0) {
    if (total !== 0) throw new PackedSummaryError(`${path}: ${total} rows counted in a column without bins`);
    return [];
  }
  const counts: number[] = [];
  let left = total;
  if (n > 1) {
    const model: CountModel = models.length > 1 && r.bit() === 1 ? "ratio" : "chain";
    const k = readK(r, expectedRiceK(total / n, 1, MAX_K), path);
    for (let b = 0; b < n - 1; b++) {
      const c = predictCount(model, counts, p, total, left, b) + unzigzag(r.rice(k));
      if (!(Number.isSafeInteger(c) && c >= 0 && c <= left))
        throw new PackedSummaryError(`${path}: count ${c} of bin ${b} outside 0…${left}`);
      counts.push(c);
      left -= c;
    }
  }
  counts.push(left);
  return counts;
}

function referenceTotal(column: NumericColumn | CategoricalColumn): number {
  const ref = column.reference;
  return sum(ref.counts) + ref.missing + ("unseen" in ref ? ref.unseen : ref.below + ref.above);
}

/**
 * The decimal exponent an out-of-range sum of `n` values near `edge` has when written with
 * OUT_OF_RANGE_DIGITS significant digits (m·10^e, m < 10^digits): most sums then cost one bit of exponent.
 */
function sumExponent(n: number, edge: number | undefined): number {
  const magnitude = n * Math.abs(edge ?? 0);
  return magnitude > 0 && Number.isFinite(magnitude)
    ? Math.floor(Math.log10(magnitude)) - OUT_OF_RANGE_DIGITS + 1
    : 0;
}

/** The open tail bins of a column of 4 bins or more: their offsets vary more, so they get their own Rice parameter. */
function isTail(b: number, bins: number): boolean {
  return bins >= 4 && (b === 0 || b === bins - 1);
}

function writeNumeric(
  w: BitWriter,
  column: NumericColumn,
  s: NumericSummary,
  rows: number,
  path: string,
): void {
  const bins = binsOf(column.edges);
  if (s.counts.length !== bins || s.offsets.length !== bins) {
    throw new PackedSummaryError(
      `${path}: ${s.counts.length} counts and ${s.offsets.length} offsets for ${bins} bins`,
    );
  }
  const ref = column.reference;
  const total = referenceTotal(column);
  writeCount(w, s.missing, expectedCount(rows, ref.missing, total));
  // Below and above share one Rice parameter: under drift both grow together, often far from 0.
  const outside = [
    zigzag(s.below - expectedCount(rows, ref.below, total)),
    zigzag(s.above - expectedCount(rows, ref.above, total)),
  ];
  const { k } = bestK(outside);
  w.expGolomb(k);
  for (const u of outside) w.rice(u, k);
  const inBins = sum(s.counts);
  writeCount(w, inBins, rows - s.missing - s.below - s.above);
  writeCounts(w, s.counts, shares(ref.counts, bins), ["chain", "ratio"]);
  if (inBins > 0) {
    const predicted = predictOffsets(column, s.counts);
    const groups: [number[], number[]] = [[], []];
    s.counts.forEach((c, b) => {
      const o = s.offsets[b]!;
      if (o > OFFSET_STEPS * c)
        throw new PackedSummaryError(`${path}: offset ${o} of bin ${b} above ${OFFSET_STEPS}·${c}`);
      if (c > 0) groups[isTail(b, bins) ? 1 : 0].push(zigzag(o - predicted[b]!));
    });
    // Inner bins first (Rice parameter from the counts), then the tails (parameter from the inner one).
    let guess = expectedRiceK(inBins / bins, OFFSET_SPREAD, MAX_K);
    for (const residuals of groups) {
      if (residuals.length === 0) continue;
      const { k } = bestK(residuals);
      w.expGolomb(zigzag(k - guess));
      for (const u of residuals) w.rice(u, k);
      guess = k;
    }
  }
  writeFloat(w, s.belowSum, sumExponent(s.below, column.edges[0]));
  writeFloat(w, s.aboveSum, sumExponent(s.above, column.edges.at(-1)));
}

/**
 * What decoding a column needs from the spec alone (bins, reference total, shares): the hub
 * decodes every window on the same cached spec objects, so it is worked out once per column
 * object, with the very functions the encoder calls (predictions must agree bit for bit).
 */
interface ColumnPlan {
  bins: number;
  total: number;
  shares: number[];
}
const plans = new WeakMap<NumericColumn | CategoricalColumn, ColumnPlan>();

function planOf(column: NumericColumn | CategoricalColumn): ColumnPlan {
  let plan = plans.get(column);
  if (plan === undefined) {
    const bins = column.kind === "numeric" ? binsOf(column.edges) : column.vocabulary.length;
    plan = { bins, total: referenceTotal(column), shares: shares(column.reference.counts, bins) };
    plans.set(column, plan);
  }
  return plan;
}

function readNumeric(r: BitReader, column: NumericColumn, rows: number, path: string): NumericSummary {
  const { bins, total, shares: p } = planOf(column);
  const ref = column.reference;
  const missing = readCount(r, expectedCount(rows, ref.missing, total), path, "missing");
  const outsideK = r.expGolomb();
  if (outsideK > MAX_K) throw new PackedSummaryError(`${path}: Rice parameter ${outsideK} above ${MAX_K}`);
  const below = expectedCount(rows, ref.below, total) + unzigzag(r.rice(outsideK));
  const above = expectedCount(rows, ref.above, total) + unzigzag(r.rice(outsideK));
  checkCount(below, path, "below");
  checkCount(above, path, "above");
  const inBins = readCount(r, rows - missing - below - above, path, "the binned total");
  const counts = readCounts(r, inBins, p, NUMERIC_MODELS, path);
  const offsets = new Array<number>(bins).fill(0);
  if (inBins > 0) {
    const predicted = predictOffsets(column, counts);
    let guess = expectedRiceK(inBins / bins, OFFSET_SPREAD, MAX_K);
    // Inner bins, then the tails, each group with its Rice parameter (as writeNumeric wrote them).
    for (let tails = 0; tails < 2; tails++) {
      let k = -1;
      for (let b = 0; b < bins; b++) {
        const c = counts[b]!;
        if (c === 0 || isTail(b, bins) !== (tails === 1)) continue;
        if (k < 0) k = readK(r, guess, path);
        const o = predicted[b]! + unzigzag(r.rice(k));
        if (!(Number.isSafeInteger(o) && o >= 0 && o <= OFFSET_STEPS * c)) {
          throw new PackedSummaryError(`${path}: offset ${o} of bin ${b} outside 0…${OFFSET_STEPS * c}`);
        }
        offsets[b] = o;
      }
      if (k >= 0) guess = k;
    }
  }
  const belowSum = readFloat(r, sumExponent(below, column.edges[0]));
  const aboveSum = readFloat(r, sumExponent(above, column.edges.at(-1)));
  return { kind: "numeric", counts, below, above, missing, offsets, belowSum, aboveSum };
}

const NUMERIC_MODELS: readonly CountModel[] = ["chain", "ratio"];
const CATEGORICAL_MODELS: readonly CountModel[] = ["chain"];

function writeCategorical(
  w: BitWriter,
  column: CategoricalColumn,
  s: CategoricalSummary,
  rows: number,
  path: string,
): void {
  const n = column.vocabulary.length;
  if (s.counts.length !== n)
    throw new PackedSummaryError(`${path}: ${s.counts.length} counts for ${n} entries`);
  const ref = column.reference;
  const total = referenceTotal(column);
  writeCount(w, s.missing, expectedCount(rows, ref.missing, total));
  writeCount(w, s.unseen, expectedCount(rows, ref.unseen, total));
  writeCount(w, sum(s.counts), rows - s.missing - s.unseen);
  writeCounts(w, s.counts, shares(ref.counts, n), ["chain"]);
}

function readCategorical(
  r: BitReader,
  column: CategoricalColumn,
  rows: number,
  path: string,
): CategoricalSummary {
  const { total, shares: p } = planOf(column);
  const ref = column.reference;
  const missing = readCount(r, expectedCount(rows, ref.missing, total), path, "missing");
  const unseen = readCount(r, expectedCount(rows, ref.unseen, total), path, "unseen");
  const inVocabulary = readCount(r, rows - missing - unseen, path, "the vocabulary total");
  const counts = readCounts(r, inVocabulary, p, CATEGORICAL_MODELS, path);
  return { kind: "categorical", counts, unseen, missing };
}

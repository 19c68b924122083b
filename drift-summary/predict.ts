/**
 * What the packed drift summary (drift-summary/codec.ts) predicts from the monitoring spec's
 * training reference and from the fields already decoded, so that only the residuals travel. Both
 * ends call these with the same arguments; every prediction is an integer, so encoder and decoder
 * agree bit for bit.
 */
import type { NumericColumn } from "./monitoring.js";
import { OFFSET_STEPS } from "./summary.js";

/** Expected value of a count: rows × part / total (0 without a reference). */
export function expectedCount(rows: number, part: number, total: number): number {
  return total > 0 ? Math.round((rows * part) / total) : 0;
}

/** Per bin/entry: the reference's share (equal shares when the reference counted nothing). */
export function shares(reference: readonly number[], n: number): number[] {
  const total = reference.reduce((s, c) => s + c, 0);
  return Array.from({ length: n }, (_, b) => (total > 0 ? (reference[b] ?? 0) / total : 1 / n));
}

/**
 * How the counts of a column are predicted: `chain`, the multinomial's conditional mean given the
 * rows not placed yet (best without drift); `ratio`, the reference share times the previous bin's
 * current/expected ratio (drift moves neighbouring bins alike). The encoder picks the shorter.
 */
export type CountModel = "chain" | "ratio";

/** Predicted count of entry b: entries before b are known, `left` of `total` is not placed yet. */
export function predictCount(
  model: CountModel,
  counts: readonly number[],
  p: readonly number[],
  total: number,
  left: number,
  b: number,
): number {
  let predicted: number;
  if (model === "chain" || b === 0) {
    let rest = 0;
    for (let j = b; j < p.length; j++) rest += p[j]!;
    predicted = rest > 0 ? Math.round((left * p[b]!) / rest) : Math.round(left / (p.length - b));
  } else {
    const expectedBefore = total * p[b - 1]!;
    const ratio = expectedBefore > 0 ? counts[b - 1]! / expectedBefore : 1;
    predicted = Math.round(total * p[b]! * ratio);
  }
  return Math.min(left, Math.max(0, predicted));
}

/**
 * Predicted offset of each bin: count × OFFSET_STEPS × the expected position of its values in the
 * bin, from a straight-line density through the current densities next to it:
 * position = 0.5 + slope·width / (12·density). The reference's bin means carry sampling noise of
 * their own (a 20k-row reference: ±0.15 steps, ±700 per bin at 100k rows per window), the current
 * counts much less. Inner bins take the slope between both neighbours; the second and the
 * second-to-last bin the slope towards the inside (the open tail bins are too wide to lean on);
 * the tail bins themselves, and columns of fewer than 4 bins, the reference bin mean's position
 * (0.5 without one).
 */
export function predictOffsets(
  column: Pick<NumericColumn, "edges" | "reference">,
  counts: readonly number[],
): number[] {
  const { edges, reference } = column;
  const bins = counts.length;
  const width = (b: number) => (edges[b + 1] ?? edges[b]!) - edges[b]!;
  const centre = (b: number) => edges[b]! + width(b) / 2;
  const density = (b: number) => counts[b]! / width(b);
  const slopePosition = (b: number, from: number, to: number) => {
    const slope = (density(to) - density(from)) / (centre(to) - centre(from));
    return 0.5 + (slope * width(b)) / (12 * density(b));
  };
  return counts.map((c, b) => {
    if (c === 0 || !(width(b) > 0)) return 0;
    let position: number;
    if (bins >= 4 && b >= 2 && b <= bins - 3) position = slopePosition(b, b - 1, b + 1);
    else if (bins >= 4 && b === 1) position = slopePosition(b, b, b + 1);
    else if (bins >= 4 && b === bins - 2) position = slopePosition(b, b - 1, b);
    else {
      const mean = reference.means?.[b];
      position = mean === null || mean === undefined ? 0.5 : (mean - edges[b]!) / width(b);
    }
    const clamped = Number.isFinite(position) ? Math.min(1, Math.max(0, position)) : 0.5;
    return Math.round(c * OFFSET_STEPS * clamped);
  });
}

/** A Rice parameter near log2 of a residual's scale (√n · spread): sent as a small difference. */
export function expectedRiceK(n: number, spread: number, maxK: number): number {
  return Math.min(maxK, Math.max(0, Math.round(Math.log2(Math.sqrt(Math.max(n, 0)) * spread + 1))));
}

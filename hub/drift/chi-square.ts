/**
 * Two-sample chi-square test of homogeneity on counts over the same bins (the 2×K contingency
 * table; scipy.stats.chi2_contingency with correction=False). The asymptotic χ² law needs expected
 * counts of about 5 or more, so sparse bins are merged first: ordered (numeric) bins into their
 * right-hand neighbours, left to right (a short tail goes into the last group); unordered
 * (categorical) bins are pooled smallest first into one "other" bin until it is big enough.
 * Bins empty on both sides are dropped. No Yates correction.
 */
import { checkCounts, total } from "./bins.js";
import { DriftInputError } from "./errors.js";
import { chiSquareSurvival } from "./special-functions.js";

export const MIN_EXPECTED = 5;

export interface ChiSquareResult {
  statistic: number;
  df: number;
  pValue: number;
  /** Bins left after dropping empty ones and merging sparse ones. */
  bins: number;
}

/** Chi-square homogeneity test of reference vs current counts. */
export function chiSquare(
  reference: readonly number[],
  current: readonly number[],
  options: { ordered?: boolean } = {},
): ChiSquareResult {
  if (reference.length !== current.length) {
    throw new DriftInputError(
      `chiSquare: ${reference.length} reference bins vs ${current.length} current bins`,
    );
  }
  checkCounts("chiSquare reference", reference);
  checkCounts("chiSquare current", current);
  const n = total(reference);
  const m = total(current);
  if (n === 0 || m === 0) return { statistic: 0, df: 0, pValue: 1, bins: 0 };
  const minShare = Math.min(n, m) / (n + m);
  // A group is big enough when the smaller row's expected count reaches MIN_EXPECTED.
  const bigEnough = (ref: number, cur: number) => (ref + cur) * minShare >= MIN_EXPECTED;
  const cells: [number, number][] = [];
  for (let b = 0; b < reference.length; b++) {
    if (reference[b]! + current[b]! > 0) cells.push([reference[b]!, current[b]!]);
  }
  const groups = options.ordered ? mergeOrdered(cells, bigEnough) : mergeUnordered(cells, bigEnough);
  if (groups.length < 2) return { statistic: 0, df: 0, pValue: 1, bins: groups.length };
  let statistic = 0;
  for (const [ref, cur] of groups) {
    const column = ref + cur;
    const expectedRef = (column * n) / (n + m);
    const expectedCur = (column * m) / (n + m);
    statistic += (ref - expectedRef) ** 2 / expectedRef + (cur - expectedCur) ** 2 / expectedCur;
  }
  const df = groups.length - 1;
  return { statistic, df, pValue: chiSquareSurvival(statistic, df), bins: groups.length };
}

type Cell = [number, number];

function mergeOrdered(cells: Cell[], bigEnough: (ref: number, cur: number) => boolean): Cell[] {
  const groups: Cell[] = [];
  let open: Cell = [0, 0];
  for (const [ref, cur] of cells) {
    open = [open[0] + ref, open[1] + cur];
    if (bigEnough(open[0], open[1])) {
      groups.push(open);
      open = [0, 0];
    }
  }
  if (open[0] + open[1] > 0) {
    const last = groups.pop();
    groups.push(last ? [last[0] + open[0], last[1] + open[1]] : open);
  }
  return groups;
}

function mergeUnordered(cells: Cell[], bigEnough: (ref: number, cur: number) => boolean): Cell[] {
  const sorted = [...cells].sort((a, b) => a[0] + a[1] - (b[0] + b[1]));
  const groups: Cell[] = [];
  let pool: Cell = [0, 0];
  let pooled = 0;
  for (const cell of sorted) {
    if (bigEnough(cell[0], cell[1]) && (pooled === 0 || bigEnough(pool[0], pool[1]))) {
      groups.push(cell);
    } else {
      pool = [pool[0] + cell[0], pool[1] + cell[1]];
      pooled++;
    }
  }
  if (pooled > 0) {
    if (bigEnough(pool[0], pool[1]) || groups.length === 0) groups.push(pool);
    else {
      // Still too small: fold it into the smallest regular group.
      const smallest = groups.shift()!;
      groups.unshift([smallest[0] + pool[0], smallest[1] + pool[1]]);
    }
  }
  return groups;
}

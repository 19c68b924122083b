/** Holm–Bonferroni step-down: controls the family-wise error rate at alpha for any dependence between the tests. */
export function holm(pValues: readonly number[], alpha: number): boolean[] {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p: Number.isNaN(p) ? 1 : p, i })).sort((a, b) => a.p - b.p);
  const rejected = new Array<boolean>(m).fill(false);
  for (let k = 0; k < m; k++) {
    const { p, i } = order[k]!;
    if (p > alpha / (m - k)) break;
    rejected[i] = true;
  }
  return rejected;
}

/** Holm-adjusted p-values (monotone, capped at 1), so a report can say how far from the line each test was. */
export function holmAdjusted(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p: Number.isNaN(p) ? 1 : p, i })).sort((a, b) => a.p - b.p);
  const adjusted = new Array<number>(m).fill(1);
  let running = 0;
  for (let k = 0; k < m; k++) {
    const { p, i } = order[k]!;
    running = Math.max(running, Math.min(1, (m - k) * p));
    adjusted[i] = running;
  }
  return adjusted;
}

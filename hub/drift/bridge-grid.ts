/**
 * The null distribution of a KS statistic read only at fixed bin edges. The binned KS statistic is
 * the largest CDF gap over the edges, not over the whole line, so under no drift it is smaller than
 * the continuous statistic and the Kolmogorov p-value is conservative. Its own limit is
 * P(max_k |B(t_k)| > λ) for a Brownian bridge B read at the reference CDF values t_k of the edges.
 * B is Markov, so this is a product of Gaussian transitions: the density of "not yet crossed" is
 * carried across the edges on a grid over [−λ, λ], and the probability of crossing at each edge is
 * added up directly (no 1 − P cancellation, so tails of 1e-8 keep their digits).
 */

/** Closest CDF values kept apart; closer edges are merged (a transition narrower than the grid cannot be carried). */
const MIN_TIME_GAP = 2e-3;
/** λ table: every 0.05 from 0 to 6.5; log p is interpolated linearly between entries. */
const TABLE_STEP = 0.05;
const TABLE_MAX = 6.5;
const CACHE_LIMIT = 2_000;

/** P(max_k |B(t_k)| > lambda) for a Brownian bridge read at 0 < t_1 < … < t_K < 1, by direct quadrature. */
export function bridgeGridSurvival(times: readonly number[], lambda: number): number {
  const t = usableTimes(times);
  if (t.length === 0 || lambda <= 0) return lambda <= 0 ? 1 : 0;
  let minSd = Math.sqrt(t[0]! * (1 - t[0]!));
  for (let k = 1; k < t.length; k++) {
    minSd = Math.min(minSd, Math.sqrt(((t[k]! - t[k - 1]!) * (1 - t[k]!)) / (1 - t[k - 1]!)));
  }
  // Nodes no wider than a third of the narrowest transition (and 0.05): the trapezoid rule on
  // Gaussians is then accurate to well under 1 % of each crossing term.
  const h = Math.min(0.05, minSd / 3);
  const m = Math.max(8, Math.ceil((2 * lambda) / h));
  const step = (2 * lambda) / m;
  const y = Float64Array.from({ length: m + 1 }, (_, j) => -lambda + j * step);
  const w = Float64Array.from({ length: m + 1 }, (_, j) => (j === 0 || j === m ? step / 2 : step));
  // Sub-density of B(t_1) restricted to the band.
  const v1 = t[0]! * (1 - t[0]!);
  let f: Float64Array = Float64Array.from(y, (value) => gaussian(value, v1));
  let crossed = 2 * upperTail(lambda / Math.sqrt(v1));
  const next = new Float64Array(m + 1);
  for (let k = 1; k < t.length; k++) {
    const c = (1 - t[k]!) / (1 - t[k - 1]!);
    const v = ((t[k]! - t[k - 1]!) * (1 - t[k]!)) / (1 - t[k - 1]!);
    const sd = Math.sqrt(v);
    next.fill(0);
    for (let j = 0; j <= m; j++) {
      const mass = w[j]! * f[j]!;
      if (mass < 1e-300) continue;
      const centre = c * y[j]!;
      crossed += mass * (upperTail((lambda - centre) / sd) + upperTail((lambda + centre) / sd));
      for (let i = 0; i <= m; i++) {
        const z = (y[i]! - centre) / sd;
        if (z * z < 80) next[i]! += mass * Math.exp(-0.5 * z * z);
      }
    }
    const scale = 1 / (sd * Math.sqrt(2 * Math.PI));
    f = Float64Array.from(next, (value) => value * scale);
  }
  return Math.min(1, crossed);
}

/** Edges whose CDF values are in (0, 1), ascending, at least MIN_TIME_GAP apart. */
export function usableTimes(times: readonly number[]): number[] {
  const kept: number[] = [];
  for (const t of [...times].sort((a, b) => a - b)) {
    if (!(t > MIN_TIME_GAP / 2 && t < 1 - MIN_TIME_GAP / 2)) continue;
    if (kept.length > 0 && t - kept[kept.length - 1]! < MIN_TIME_GAP) continue;
    kept.push(t);
  }
  return kept;
}

const tables = new Map<string, Float64Array>();

/**
 * The same survival function from a table computed once per edge set (the table costs ~0.1–0.5 s;
 * a lookup is a few operations). Cached per rounded edge set, bounded.
 */
export function bridgeGridSurvivalCached(times: readonly number[], lambda: number): number {
  const t = usableTimes(times);
  if (t.length === 0) return lambda <= 0 ? 1 : 0;
  const key = t.map((value) => value.toFixed(5)).join(",");
  let table = tables.get(key);
  if (!table) {
    const size = Math.round(TABLE_MAX / TABLE_STEP) + 1;
    table = Float64Array.from({ length: size }, (_, i) =>
      Math.log(Math.max(bridgeGridSurvival(t, i * TABLE_STEP), 1e-300)),
    );
    if (tables.size >= CACHE_LIMIT) tables.delete(tables.keys().next().value!);
    tables.set(key, table);
  }
  if (lambda <= 0) return 1;
  const position = lambda / TABLE_STEP;
  const last = table.length - 1;
  if (position >= last) {
    // Beyond the table the tail decays like exp(−2λ²) (one edge near t = 1/2 dominates).
    const edge = last * TABLE_STEP;
    return Math.exp(table[last]! - 2 * (lambda * lambda - edge * edge));
  }
  const low = Math.floor(position);
  const frac = position - low;
  return Math.min(1, Math.exp(table[low]! * (1 - frac) + table[low + 1]! * frac));
}

function gaussian(x: number, variance: number): number {
  return Math.exp((-0.5 * x * x) / variance) / Math.sqrt(2 * Math.PI * variance);
}

/** P(Z > z) for a standard normal; erfc-based, accurate in the tail. */
function upperTail(z: number): number {
  if (z > 38) return 0;
  return 0.5 * erfcLocal(z / Math.SQRT2);
}

// Numerical Recipes' erfcc (relative error < 1.2e-7 everywhere): ample for a quadrature that is
// itself accurate to ~0.1 %, and much faster than special-functions.ts's erfc in the inner loop.
function erfcLocal(x: number): number {
  if (x < 0) return 2 - erfcLocal(-x);
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -x * x -
    1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t *
                      (0.27886807 +
                        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * Math.exp(poly);
}

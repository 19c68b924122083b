/** Seeded multinomial draws: reference chunks for calibration and the benchmark's simulated windows. */

/** A Binomial(n, p) draw: inversion when the smaller tail's mean is under 30, else a rounded normal (its error is far below the calibration's own noise). */
export function binomial(n: number, p: number, random: () => number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  const flip = p > 0.5;
  const q = flip ? 1 - p : p;
  let k: number;
  if (n * q < 30) {
    // Inversion: walk the pmf from 0 with the ratio recurrence.
    const u = random();
    let pmf = (1 - q) ** n;
    let cdf = pmf;
    k = 0;
    const ratio = q / (1 - q);
    while (u > cdf && k < n) {
      pmf *= (ratio * (n - k)) / (k + 1);
      k++;
      cdf += pmf;
    }
  } else {
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    k = Math.min(n, Math.max(0, Math.round(n * q + z * Math.sqrt(n * q * (1 - q)))));
  }
  return flip ? n - k : k;
}

/** Counts of n draws over categories with the given weights (conditional binomials, one per category). */
export function multinomial(n: number, weights: readonly number[], random: () => number): number[] {
  let remainingWeight = weights.reduce((a, b) => a + b, 0);
  let remaining = n;
  return weights.map((w) => {
    if (remaining === 0 || remainingWeight <= 0) return 0;
    const k = binomial(remaining, Math.min(1, w / remainingWeight), random);
    remaining -= k;
    remainingWeight -= w;
    return k;
  });
}

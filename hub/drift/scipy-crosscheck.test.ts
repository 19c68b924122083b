/**
 * Cross-check against scipy (python3 + scipy on this machine and in CI). Skips, saying why, when
 * python3 or scipy is not there.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { rawKsPValue, rawKsStatistic } from "./binned-ks.js";
import { chiSquare } from "./chi-square.js";
import { jensenShannon, wasserstein1 } from "./distances.js";
import { Generator, standardFeatures } from "./simulation.js";

function scipyAvailable(): string | null {
  try {
    execFileSync("python3", ["-c", "import scipy, numpy"], { stdio: "ignore" });
    return null;
  } catch {
    return "python3 with scipy and numpy not found";
  }
}

const skipReason = scipyAvailable();
if (skipReason) console.warn(`scipy cross-check skipped: ${skipReason}`);

const SCRIPT = `
import json, sys
import numpy as np
from scipy import stats
from scipy.spatial import distance
d = json.load(sys.stdin)
out = {}
r = stats.ks_2samp(d["a"], d["b"], method="asymp")
out["ks"] = [float(r.statistic), float(r.pvalue)]
out["wasserstein"] = float(stats.wasserstein_distance(d["a"], d["b"]))
out["js"] = float(distance.jensenshannon(d["p"], d["q"], base=2))
chi2, p, dof, _ = stats.chi2_contingency(np.array([d["p"], d["q"]]), correction=False)
out["chi2"] = [float(chi2), float(p), int(dof)]
json.dump(out, sys.stdout)
`;

describe.skipIf(skipReason !== null)("against scipy", () => {
  const generator = new Generator(standardFeatures(), 11);
  const a = generator.draw({ name: "x", kind: "lognormal", sigma: 0.8, scale: 2 }, 3000);
  const b = generator.draw({ name: "x", kind: "lognormal", sigma: 0.8, scale: 2 }, 700, {
    feature: "x",
    meanSigmas: 0.1,
  });
  const p = [120, 340, 510, 90, 77, 230, 45];
  const q = [30, 70, 140, 30, 12, 60, 19];
  const scipy = JSON.parse(
    execFileSync("python3", ["-c", SCRIPT], {
      input: JSON.stringify({ a: Array.from(a), b: Array.from(b), p, q }),
    }).toString(),
  ) as { ks: [number, number]; wasserstein: number; js: number; chi2: [number, number, number] };

  it("exact two-sample KS statistic; our asymptotic p-value is within 5 % of scipy's", () => {
    const sortedA = Float64Array.from(a).sort();
    const sortedB = Float64Array.from(b).sort();
    const d = rawKsStatistic(sortedA, sortedB);
    expect(d).toBeCloseTo(scipy.ks[0], 12);
    expect(rawKsPValue(d, a.length, b.length) / scipy.ks[1]).toBeGreaterThan(0.95);
    expect(rawKsPValue(d, a.length, b.length) / scipy.ks[1]).toBeLessThan(1.05);
  });

  it("Wasserstein-1 on raw values", () => {
    const w = wasserstein1(
      { counts: Array.from(a, () => 1), locations: Array.from(a) },
      { counts: Array.from(b, () => 1), locations: Array.from(b) },
    );
    expect(w).toBeCloseTo(scipy.wasserstein, 10);
  });

  it("Jensen–Shannon distance, base 2", () => {
    expect(jensenShannon(p, q)).toBeCloseTo(scipy.js, 12);
  });

  it("chi-square homogeneity (no sparse bins: nothing merged)", () => {
    const result = chiSquare(p, q);
    expect(result.df).toBe(scipy.chi2[2]);
    expect(result.statistic).toBeCloseTo(scipy.chi2[0], 9);
    expect(result.pValue / scipy.chi2[1]).toBeCloseTo(1, 9);
  });
});

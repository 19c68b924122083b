import { describe, expect, it } from "vitest";
import { bridgeGridSurvival, bridgeGridSurvivalCached, usableTimes } from "./bridge-grid.js";
import { kolmogorovSurvival, normalSurvival } from "./special-functions.js";

const twenty = Array.from({ length: 19 }, (_, i) => (i + 1) / 20);

describe("Brownian bridge read at grid points", () => {
  it("one point is a normal tail: P(|B(1/2)| > x) = 2·P(Z > 2x)", () => {
    expect(bridgeGridSurvival([0.5], 1)).toBeCloseTo(2 * normalSurvival(2), 8);
  });

  it("stays below the continuous Kolmogorov tail and approaches it as the grid gets dense", () => {
    const dense = Array.from({ length: 249 }, (_, i) => (i + 1) / 250);
    for (const lambda of [0.8, 1.36, 2]) {
      const coarse = bridgeGridSurvival(twenty, lambda);
      const fine = bridgeGridSurvival(dense, lambda);
      expect(coarse).toBeLessThan(fine);
      expect(fine).toBeLessThan(kolmogorovSurvival(lambda));
      expect(fine / kolmogorovSurvival(lambda)).toBeGreaterThan(0.7);
    }
  });

  it("matches a Monte Carlo estimate for 20 equal bins (400k bridges, numpy)", () => {
    // P(max over t = k/20 of |B(t)| > λ), simulated with numpy (seed 1).
    expect(bridgeGridSurvival(twenty, 0.8)).toBeCloseTo(0.3527, 2);
    expect(bridgeGridSurvival(twenty, 1.0)).toBeCloseTo(0.1556, 2);
    expect(bridgeGridSurvival(twenty, 1.36) / 0.0236).toBeGreaterThan(0.95);
    expect(bridgeGridSurvival(twenty, 1.36) / 0.0236).toBeLessThan(1.05);
  });

  it("the cached table agrees with direct quadrature and is monotone", () => {
    let previous = 1;
    for (const lambda of [0.33, 0.91, 1.37, 2.21, 3.3]) {
      const cached = bridgeGridSurvivalCached(twenty, lambda);
      expect(cached / bridgeGridSurvival(twenty, lambda)).toBeCloseTo(1, 2);
      expect(cached).toBeLessThan(previous);
      previous = cached;
    }
  });

  it("drops times at 0 or 1 and times too close together", () => {
    expect(usableTimes([0, 0.5, 0.5004, 1, 0.2])).toEqual([0.2, 0.5]);
    expect(bridgeGridSurvival([0, 1], 1)).toBe(0);
  });
});

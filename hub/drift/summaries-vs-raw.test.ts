/**
 * Statistics computed from device-style summaries agree with the same statistics on the raw rows
 * (seeded data, binned with the baseline's quantile edges, bin means from the summary's offsets).
 */
import { describe, expect, it } from "vitest";
import { binnedKs, rawKsStatistic } from "./binned-ks.js";
import { alignCounts } from "./bins.js";
import { wasserstein1, wassersteinOverStd } from "./distances.js";
import { Generator, type Shift, specFromTraining, standardFeatures, summariseColumn } from "./simulation.js";

const features = standardFeatures();
const generator = new Generator(features, 7);
const training = generator.rows(20_000);
const spec = specFromTraining(features, training);
const numeric = features.map((f, j) => ({ f, j })).filter(({ f }) => f.kind !== "categorical");

function rawW1(a: Float64Array, b: Float64Array): number {
  return wasserstein1(
    { counts: Array.from(a, () => 1), locations: Array.from(a) },
    { counts: Array.from(b, () => 1), locations: Array.from(b) },
  );
}

function std(values: Float64Array): number {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
}

describe("statistics from summaries vs raw rows", () => {
  const shifts: (Shift | undefined)[] = [
    undefined,
    { feature: "", meanSigmas: 0.3 },
    { feature: "", scale: 1.4 },
  ];
  it("W/std from bin means is about ±0.01 of the raw-row value (20 quantile bins: mean error ≤ 0.004, 95th percentile ≤ 0.015)", () => {
    const errors: number[] = [];
    for (const { f, j } of numeric) {
      for (const shift of [...shifts, ...shifts]) {
        const current = generator.draw(f, 1000, shift ? { ...shift, feature: f.name } : undefined);
        const column = spec.columns[j]!;
        const aligned = alignCounts(column, summariseColumn(column, current));
        const binned = wassersteinOverStd(
          { counts: aligned.reference, locations: aligned.referenceLocations! },
          { counts: aligned.current, locations: aligned.currentLocations! },
          column.kind === "numeric" ? column.reference.std! : 0,
        );
        const raw = rawW1(training[j]!, current) / std(training[j]!);
        errors.push(Math.abs(binned - raw));
      }
    }
    errors.sort((a, b) => a - b);
    expect(errors[Math.floor(errors.length * 0.95)]!).toBeLessThanOrEqual(0.015);
    expect(errors.reduce((a, b) => a + b, 0) / errors.length).toBeLessThanOrEqual(0.004);
    // The worst cases are the open tail bins of skewed features (offset rounding in a wide bin).
    expect(errors[errors.length - 1]!).toBeLessThan(0.05);
  });

  it("the reference std of the spec is the raw training std", () => {
    for (const { j } of numeric) {
      const column = spec.columns[j]!;
      if (column.kind !== "numeric") throw new Error("numeric expected");
      expect(column.reference.std!).toBeCloseTo(std(training[j]!), 9);
    }
  });

  it("binned KS statistic never exceeds the raw one and stays within one bin's share of it", () => {
    for (const { f, j } of numeric) {
      for (const shift of shifts) {
        const current = generator.draw(f, 1000, shift ? { ...shift, feature: f.name } : undefined);
        const column = spec.columns[j]!;
        const aligned = alignCounts(column, summariseColumn(column, current));
        const binned = binnedKs(aligned.reference, aligned.current).statistic;
        const raw = rawKsStatistic(Float64Array.from(training[j]!).sort(), Float64Array.from(current).sort());
        expect(binned).toBeLessThanOrEqual(raw + 1e-12);
        // The gap between edges: at most the largest bin's CDF step on both sides (~0.05 each).
        expect(raw - binned).toBeLessThan(0.1);
      }
    }
  });
});

import { describe, expect, it } from "vitest";
import { chiSquare } from "./chi-square.js";
import { jensenShannon, psi } from "./distances.js";
import { DriftInputError } from "./errors.js";
import { holm, holmAdjusted } from "./holm.js";
import { driftReport } from "./report.js";
import { addSummaries, Generator, specFromTraining, standardFeatures, summarise } from "./simulation.js";

const features = standardFeatures();
const generator = new Generator(features, 3);
const spec = specFromTraining(features, generator.rows(20_000));

describe("driftReport", () => {
  it("names the drifted column, the test and the scale, and leaves the others alone", () => {
    const window = summarise(spec, generator.rows(1000, [{ feature: "n2", meanSigmas: 1 }]));
    const report = driftReport(spec, window);
    expect(report.datasetDrift).toBe(true);
    const drifted = report.columns.filter((c) => c.drifted).map((c) => c.name);
    expect(drifted).toContain("n2");
    const n2 = report.columns.find((c) => c.name === "n2")!;
    expect(n2.fired[0]).toMatchObject({ windows: 1, test: "ks" });
    expect(n2.reasons[0]).toMatch(/^ks p=.* over 1 window\(s\) \(Holm, alpha 0.01\)$/);
    expect(n2.exceeded).toContain("wasserstein");
    expect(report.firedScales).toEqual([1]);
    expect(report.evidently.driftedColumns).toContain("n2");
    expect(report.evidently.datasetDrift).toBe(false);
  });

  it("a slight shift that one window misses fires at the 16-window scale", () => {
    const history = Array.from({ length: 16 }, () =>
      summarise(spec, generator.rows(300, [{ feature: "n4", meanSigmas: 0.15 }])),
    );
    const report = driftReport(spec, history[15]!, {
      scales: [
        { windows: 4, summary: addSummaries(history.slice(-4)) },
        { windows: 16, summary: addSummaries(history) },
      ],
    });
    const n4 = report.columns.find((c) => c.name === "n4")!;
    expect(n4.drifted).toBe(true);
    expect(n4.fired.map((f) => f.windows)).toContain(16);
    expect(n4.scales.map((s) => s.rows)).toEqual([300, 1200, 4800]);
  });

  it("flags data quality: missing values, out-of-range values, unseen categories", () => {
    const rows = generator.rows(500);
    rows[0]!.fill(Number.NaN, 0, 60); // n0: 12 % missing
    for (let i = 0; i < 40; i++) rows[1]![i] = 1e6; // n1: out of range
    for (let i = 0; i < 30; i++) rows[17]![i] = 99; // cat3: unseen code
    const report = driftReport(spec, summarise(spec, rows));
    const flags = Object.fromEntries(report.dataQuality.columns.map((q) => [q.name, q.flags]));
    expect(flags.n0).toEqual(["missing"]);
    expect(flags.n1).toEqual(["out-of-range"]);
    expect(flags.cat3).toEqual(["unseen"]);
    expect(flags.n2).toEqual([]);
    expect(report.dataQuality.flagged).toBe(true);
    expect(report.dataQuality.columns.find((q) => q.name === "n0")!.missingRate).toBeCloseTo(0.12, 10);
  });

  it("refuses a summary counted on other bins, and mismatched bins, with clear errors", () => {
    const window = summarise(spec, generator.rows(100));
    expect(() => driftReport(spec, { ...window, baselineId: "f".repeat(64) })).toThrow(DriftInputError);
    const broken = structuredClone(window);
    broken.columns.n0!.counts.pop();
    expect(() => driftReport(spec, broken)).toThrow(/column n0: counts has 19 entries, the bins need 20/);
    expect(() => driftReport(spec, window, { alpha: 2 })).toThrow(/alpha/);
  });

  it("lists spec columns the summary lacks instead of testing them", () => {
    const window = summarise(spec, generator.rows(100));
    delete window.columns.cat5;
    expect(driftReport(spec, window).notSummarised).toEqual(["cat5"]);
  });
});

describe("building blocks", () => {
  it("Holm steps down and stops at the first acceptance", () => {
    expect(holm([0.001, 0.04, 0.012, 0.5], 0.05)).toEqual([true, false, true, false]);
    expect(holm([0.03, 0.03], 0.05)).toEqual([false, false]);
    const adjusted = holmAdjusted([0.001, 0.04, 0.012, 0.5]);
    for (const [i, expected] of [0.004, 0.08, 0.036, 0.5].entries())
      expect(adjusted[i]).toBeCloseTo(expected, 12);
  });

  it("chi-square merges sparse bins (expected < 5) before testing", () => {
    const ordered = chiSquare([500, 500, 3, 2, 1], [50, 50, 0, 1, 0], { ordered: true });
    expect(ordered.bins).toBe(2);
    const unordered = chiSquare([500, 2, 500, 3, 1], [50, 0, 50, 1, 0]);
    expect(unordered.bins).toBe(2);
    expect(chiSquare([10, 0], [0, 0]).pValue).toBe(1);
    expect(() => chiSquare([1, 2], [1])).toThrow(DriftInputError);
    expect(() => chiSquare([1, -2], [1, 1])).toThrow(/finite and >= 0/);
  });

  it("JS is 0 for equal shapes and 1 for disjoint ones (base 2); PSI floors empty bins", () => {
    expect(jensenShannon([1, 2, 3], [10, 20, 30])).toBeCloseTo(0, 12);
    expect(jensenShannon([1, 0], [0, 1])).toBeCloseTo(1, 12);
    expect(psi([1, 1], [1, 1])).toBe(0);
    expect(psi([1, 0], [0, 1])).toBeCloseTo(2 * (1 - 1e-4) * Math.log(1 / 1e-4), 6);
    expect(jensenShannon([0, 0], [1, 1])).toBeNaN();
  });
});

/**
 * A fast, seeded version of the drift benchmark's checks (bench/drift-bench.ts): loose properties
 * that catch a regression without timing anything.
 */
import { describe, expect, it } from "vitest";
import { calibrateThresholds } from "./calibrate.js";
import { driftReport } from "./report.js";
import { Generator, specFromTraining, standardFeatures, summarise } from "./simulation.js";

const features = standardFeatures();
const generator = new Generator(features, 5);
const spec = specFromTraining(features, generator.rows(20_000));

describe("detection on seeded windows", () => {
  it("false alarms: at most 5 % of 200 reference windows of 300 rows alarm", () => {
    let alarms = 0;
    for (let i = 0; i < 200; i++)
      if (driftReport(spec, summarise(spec, generator.rows(300))).datasetDrift) alarms++;
    expect(alarms / 200).toBeLessThanOrEqual(0.05);
  });

  it("power: a 1σ shift of one feature among 20 alarms in (nearly) every window of 300 rows", () => {
    for (const feature of ["n1", "ln2", "exp0"]) {
      let alarms = 0;
      for (let i = 0; i < 20; i++) {
        const window = summarise(spec, generator.rows(300, [{ feature, meanSigmas: 1 }]));
        const report = driftReport(spec, window);
        if (report.columns.find((c) => c.name === feature)!.drifted) alarms++;
      }
      expect(alarms, feature).toBeGreaterThanOrEqual(19);
    }
  });

  it("power on categories: moving half of the top category's mass is caught", () => {
    let alarms = 0;
    for (let i = 0; i < 20; i++) {
      const window = summarise(spec, generator.rows(300, [{ feature: "cat4", moveShare: 0.5 }]));
      if (driftReport(spec, window).columns.find((c) => c.name === "cat4")!.drifted) alarms++;
    }
    expect(alarms).toBeGreaterThanOrEqual(19);
  });

  it("Evidently's default fires on most small no-drift windows; ours does not", () => {
    let evidently = 0;
    let ours = 0;
    for (let i = 0; i < 30; i++) {
      const report = driftReport(spec, summarise(spec, generator.rows(100)));
      if (report.evidently.datasetDrift) evidently++;
      if (report.datasetDrift) ours++;
    }
    expect(evidently).toBeGreaterThan(15);
    expect(ours).toBeLessThanOrEqual(2);
  });

  it("calibrated thresholds shrink with the window and are deterministic per seed", () => {
    const column = spec.columns[3]!;
    const small = calibrateThresholds(column, 100, { chunks: 60 });
    const large = calibrateThresholds(column, 5000, { chunks: 60 });
    expect(large.js).toBeLessThan(small.js / 4);
    expect(large.wasserstein!).toBeLessThan(small.wasserstein!);
    expect(calibrateThresholds(column, 100, { chunks: 60 })).toEqual(small);
    // About 1-in-300 reference chunks should exceed mean + 3σ; allow a wide band.
    let over = 0;
    for (let i = 0; i < 200; i++) {
      const report = driftReport(spec, summarise(spec, generator.rows(1000)));
      over += report.columns.filter((c) => c.exceeded.includes("js")).length;
    }
    expect(over / (200 * spec.columns.length)).toBeLessThan(0.03);
  });
});

import { describe, expect, it } from "vitest";
import { histogramBin } from "../drift-summary/baseline.js";
import { BASELINE_BINS, numericHistogram } from "./baseline.js";
import { datasetFromRows } from "./dataset/dataset.js";
import { linearRegression, separableBinary } from "./synthetic.js";
import { train } from "./train.js";

describe("baseline profile", () => {
  it("profiles numeric, categorical and output distributions of a classifier's training rows", async () => {
    const dataset = datasetFromRows(separableBinary(500, 4), { target: "label", task: "classification" });
    const result = await train({
      dataset,
      task: "classification",
      target: "label",
      recipe: "logistic",
      seed: 2,
    });
    const baseline = JSON.parse(JSON.stringify(result.baseline)) as typeof result.baseline;
    expect(baseline).toMatchObject({
      schemaVersion: 1,
      task: "classification",
      target: "label",
      datasetVersion: dataset.version,
      rows: result.split.train,
      inputMode: "vector",
    });
    expect(baseline.features.map((f) => f.name)).toEqual(["x1", "x2", "color", "noise"]);
    const x2 = baseline.features[1]!;
    if (x2.kind !== "numeric") throw new Error("x2 should be numeric");
    expect(x2.edges).toHaveLength(BASELINE_BINS + 1);
    expect(x2.counts).toHaveLength(BASELINE_BINS);
    expect(x2.means).toHaveLength(BASELINE_BINS);
    expect(x2.missing).toBeGreaterThan(0);
    expect(x2.counts.reduce((a, b) => a + b, 0) + x2.missing).toBe(baseline.rows);
    expect({ below: x2.below, above: x2.above }).toEqual({ below: 0, above: 0 });
    x2.means.forEach((m, b) => {
      expect(m).toBeGreaterThanOrEqual(x2.edges[b]!);
      expect(m).toBeLessThanOrEqual(x2.edges[b + 1]!);
    });
    const color = baseline.features[2]!;
    if (color.kind !== "categorical") throw new Error("color should be categorical");
    expect(color.vocabulary.map((v) => v.value).sort()).toEqual(["blue", "green", "red"]);
    expect(color.vocabulary.reduce((a, v) => a + v.count, 0)).toBe(baseline.rows);
    expect({ unseen: color.unseen, missing: color.missing }).toEqual({ unseen: 0, missing: 0 });
    if (baseline.output.kind !== "probabilities") throw new Error("expected probabilities");
    expect(baseline.output.classes).toEqual(["no", "yes"]);
    expect(baseline.output.predicted.reduce((a, b) => a + b, 0)).toBe(baseline.rows);
    expect(baseline.output.probabilities).toHaveLength(2);
    expect(baseline.output.probabilities[1]!.min).toBeGreaterThanOrEqual(0);
    expect(baseline.output.probabilities[1]!.max).toBeLessThanOrEqual(1);
  });

  it("profiles a regressor's output and counts categories beyond the vocabulary cap as unseen", async () => {
    const dataset = datasetFromRows(linearRegression(300, 5), { target: "y", task: "regression" });
    const result = await train({
      dataset,
      task: "regression",
      target: "y",
      recipe: "ridge",
      seed: 2,
      maxCategories: 2,
    });
    const { output, features } = result.baseline;
    expect(output.kind).toBe("regression");
    if (output.kind === "regression")
      expect(output.prediction.counts.reduce((a, b) => a + b, 0)).toBe(result.split.train);
    const color = features.find((f) => f.name === "color")!;
    expect(color.kind === "categorical" && color.vocabulary.length).toBe(2);
    expect(color.kind === "categorical" && color.unseen).toBeGreaterThan(0);
  });

  it("bins repeated values into fewer bins and places out-of-range values below and above", () => {
    const h = numericHistogram(Float64Array.from([1, 1, 1, 2, 2, 3, Number.NaN]));
    expect(h.edges[0]).toBe(1);
    expect(h.edges.at(-1)).toBe(3);
    expect(h.edges.every((e, i) => i === 0 || e > h.edges[i - 1]!)).toBe(true);
    expect(h.edges.length).toBeLessThan(BASELINE_BINS + 1);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(6);
    expect(h.missing).toBe(1);
    expect([
      histogramBin(h.edges, 0),
      histogramBin(h.edges, 1),
      histogramBin(h.edges, 3),
      histogramBin(h.edges, 4),
    ]).toEqual([-1, 0, h.edges.length - 2, h.edges.length - 1]);
    expect(numericHistogram(Float64Array.of(5, 5)).counts).toEqual([2]);
  });
});

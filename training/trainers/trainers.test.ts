/**
 * Each recipe learns a synthetic problem to a stated quality, measured on the test split with the
 * exported ONNX model in onnxruntime, and the ONNX answers equal the trainer's own.
 */
import ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { datasetFromRows } from "../dataset/dataset.js";
import type { ClassificationMetrics, RegressionMetrics } from "../evaluate/metrics.js";
import { blobs, linearRegression, rings, separableBinary } from "../synthetic.js";
import { train } from "../train.js";

const binary = datasetFromRows(separableBinary(600, 1), { target: "label", task: "classification" });
const three = datasetFromRows(blobs(600, 2), { target: "label", task: "classification" });
const ring = datasetFromRows(rings(600, 3), { target: "label", task: "classification" });
const linear = datasetFromRows(linearRegression(600, 4), { target: "y", task: "regression" });

const classify = async (
  dataset: typeof binary,
  recipe: "logistic" | "mlp" | "gbt" | "forest",
  inputMode: "vector" | "columns" = "vector",
) => {
  const result = await train({
    dataset,
    task: "classification",
    target: "label",
    recipe,
    seed: 1,
    inputMode,
  });
  expect(result.predictionsCheck.ok).toBe(true);
  expect(result.predictionsCheck.rows).toBe(result.split.test);
  return { result, test: result.metrics.test as ClassificationMetrics };
};

describe("classification recipes", () => {
  it.each(["logistic", "mlp", "gbt", "forest"] as const)(
    "%s: accuracy > 0.9 and AUC > 0.95 on separable binary data",
    async (recipe) => {
      const { result, test } = await classify(binary, recipe);
      expect(test.accuracy).toBeGreaterThan(0.9);
      expect(test.rocAuc).toBeGreaterThan(0.95);
      expect(result.classes).toEqual(["no", "yes"]);
    },
  );

  it.each(["logistic", "mlp", "gbt", "forest"] as const)(
    "%s: macro F1 > 0.95 on three blobs (softmax / one tree per class / class frequencies)",
    async (recipe) => {
      const { test } = await classify(three, recipe);
      expect(test.macroF1).toBeGreaterThan(0.95);
      expect(test.rocAuc).toBeGreaterThan(0.98);
    },
  );

  it.each(["mlp", "gbt", "forest"] as const)(
    "%s: accuracy > 0.9 on rings, which a linear model cannot separate",
    async (recipe) => {
      const { test } = await classify(ring, recipe);
      expect(test.accuracy).toBeGreaterThan(0.9);
    },
  );

  it("logistic regression stays near chance on rings (the problem is not linear)", async () => {
    const { test } = await classify(ring, "logistic");
    expect(test.accuracy).toBeLessThan(0.7);
  });

  it.each(["logistic", "gbt", "forest"] as const)(
    "%s: the per-column input convention (BYTES categoricals) gives the same answers",
    async (recipe) => {
      const vector = await classify(binary, recipe, "vector");
      const columns = await classify(binary, recipe, "columns");
      expect(columns.test).toEqual(vector.test);
    },
  );
});

describe("regression recipes", () => {
  it.each([
    ["ridge", 0.99],
    ["mlp", 0.98],
    ["gbt", 0.95],
    ["forest", 0.9],
  ] as const)("%s: R² > %s on linear data", async (recipe, r2) => {
    const result = await train({ dataset: linear, task: "regression", target: "y", recipe, seed: 1 });
    expect(result.predictionsCheck.ok).toBe(true);
    expect((result.metrics.test as RegressionMetrics).r2).toBeGreaterThan(r2);
  });

  it("ridge recovers the generating coefficients through the exported graph", async () => {
    const result = await train({
      dataset: linear,
      task: "regression",
      target: "y",
      recipe: "ridge",
      params: { alpha: 0 },
      seed: 1,
    });
    const session = await ort.InferenceSession.create(result.onnx);
    // Inputs in feature order: x1, x2, color code (red is one of the vocabulary entries).
    const red = (
      result.features.find((f) => f.name === "color") as { vocabulary: string[] }
    ).vocabulary.indexOf("red");
    const rows = [
      [0, 0, -1],
      [1, 0, -1],
      [0, 1, -1],
      [0, 0, red],
    ];
    const out = await session.run({
      features: new ort.Tensor("float32", Float32Array.from(rows.flat()), [4, 3]),
    });
    const [base, x1, x2, isRed] = Array.from(out.prediction!.data as Float32Array);
    // Unseen colour (-1) is all zeros in the one-hot; the intercept absorbs the mean colour effect.
    expect(x1! - base!).toBeCloseTo(3, 1);
    expect(x2! - base!).toBeCloseTo(-2, 1);
    expect(isRed! - base!).toBeGreaterThan(3);
    await session.release();
  });
});

describe("determinism", () => {
  it.each(["logistic", "mlp", "gbt", "forest"] as const)(
    "%s: the same seed gives the same model bytes",
    async (recipe) => {
      const a = await train({ dataset: binary, task: "classification", target: "label", recipe, seed: 5 });
      const b = await train({ dataset: binary, task: "classification", target: "label", recipe, seed: 5 });
      expect(Buffer.from(a.onnx).equals(Buffer.from(b.onnx))).toBe(true);
    },
  );
});

describe("random forest", () => {
  it("different seeds draw different forests; the ensemble averages every tree", async () => {
    const a = await train({
      dataset: three,
      task: "classification",
      target: "label",
      recipe: "forest",
      seed: 1,
    });
    const b = await train({
      dataset: three,
      task: "classification",
      target: "label",
      recipe: "forest",
      seed: 2,
    });
    expect(Buffer.from(a.onnx).equals(Buffer.from(b.onnx))).toBe(false);
    expect(a.iterations).toBe(100);
    const session = await ort.InferenceSession.create(a.onnx);
    const out = await session.run({
      features: new ort.Tensor("float32", Float32Array.from([0, 0, -1]), [1, 3]),
    });
    const p = Array.from(out.probabilities!.data as Float32Array);
    // Averaged class frequencies: a distribution, not softmaxed margins.
    expect(p.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
    expect(p.every((v) => v >= 0 && v <= 1)).toBe(true);
    await session.release();
  });

  it("refuses bad parameters with the parameter named", async () => {
    for (const params of [
      { maxFeatures: 0 },
      { maxFeatures: "half" },
      { nEstimators: 0 },
      { minSamplesLeaf: 0 },
      { trees: 5 },
    ]) {
      await expect(
        train({
          dataset: binary,
          task: "classification",
          target: "label",
          recipe: "forest",
          params,
          seed: 1,
        }),
      ).rejects.toThrow(/recipe "forest" parameters/);
    }
  });

  it("a depth limit and a larger leaf make smaller trees; every setting keeps ONNX parity", async () => {
    const full = await train({ dataset: linear, task: "regression", target: "y", recipe: "forest", seed: 1 });
    const small = await train({
      dataset: linear,
      task: "regression",
      target: "y",
      recipe: "forest",
      params: { maxDepth: 4, minSamplesLeaf: 5, maxFeatures: 0.5, bootstrap: false, nEstimators: 20 },
      seed: 1,
    });
    expect(full.predictionsCheck.ok && small.predictionsCheck.ok).toBe(true);
    expect(small.onnx.byteLength).toBeLessThan(full.onnx.byteLength / 5);
    expect(small.params).toMatchObject({ maxDepth: 4, maxFeatures: 0.5, bootstrap: false });
    expect(full.params).toMatchObject({ maxFeatures: "all" });
  });
});

import ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { inspectOnnx } from "../modules/onnx/inspect.js";
import { datasetFromRows } from "./dataset/dataset.js";
import { compareOutputs } from "./evaluate/onnx-check.js";
import { vectorRow } from "./features/inputs.js";
import { separableBinary } from "./synthetic.js";
import { type TrainProgress, train } from "./train.js";

const rows = separableBinary(400, 9);
const dataset = datasetFromRows(rows, { target: "label", task: "classification" });
const base = { dataset, task: "classification" as const, target: "label", seed: 3 };

describe("train", () => {
  it("returns ONNX with raw-feature inputs, labels and probabilities, metrics, history and a baseline", async () => {
    const events: TrainProgress[] = [];
    const result = await train({
      ...base,
      recipe: "logistic",
      params: { epochs: 50 },
      onProgress: (e) => events.push(e),
    });
    const info = inspectOnnx(result.onnx);
    expect(info.inputs).toEqual([{ name: "features", datatype: "FP32", shape: [-1, 4] }]);
    expect(info.outputs.map((o) => [o.name, o.datatype])).toEqual([
      ["label", "INT64"],
      ["probabilities", "FP32"],
    ]);
    expect(result.features.map((f) => [f.name, f.kind])).toEqual([
      ["x1", "numeric"],
      ["x2", "numeric"],
      ["color", "categorical"],
      ["noise", "numeric"],
    ]);
    expect(result.moduleFeatures[2]).toEqual({
      name: "color",
      default: -1,
      categories: (result.features[2] as { vocabulary: string[] }).vocabulary,
    });
    expect(result.moduleFeatures[0]!.default).toBeCloseTo((result.features[0] as { mean: number }).mean, 6);
    expect(result.split).toEqual({ train: 280, validation: 60, test: 60 });
    expect(result.metrics.validation).not.toBeNull();
    expect(result.history).toHaveLength(result.iterations);
    const iterations = events.filter((e) => e.kind === "iteration");
    expect(iterations.map((e) => e.kind === "iteration" && e.iteration)).toEqual(
      Array.from({ length: result.iterations }, (_, i) => i + 1),
    );
    expect(iterations[0]).toMatchObject({
      recipe: "logistic",
      of: 50,
      metrics: { trainLoss: expect.any(Number), validationLoss: expect.any(Number) },
    });
    expect(events.filter((e) => e.kind === "phase").map((e) => e.kind === "phase" && e.phase)).toEqual([
      "prepared",
      "trained",
      "exported",
      "evaluated",
    ]);
  });

  it("scores raw JSON rows (category names, missing values) through the vector convention", async () => {
    const result = await train({ ...base, recipe: "gbt" });
    const session = await ort.InferenceSession.create(result.onnx);
    const raw = [
      { x1: 2, x2: 2, color: "red", noise: 0 },
      { x1: -2, x2: -2, color: "blue", noise: 0 },
      { x1: 2, x2: null, color: "mauve", noise: null },
    ];
    const data = Float32Array.from(raw.flatMap((r) => vectorRow({ features: result.features, width: 0 }, r)));
    const out = await session.run({ features: new ort.Tensor("float32", data, [3, 4]) });
    const labels = Array.from(out.label!.data as BigInt64Array, (v) => result.classes[Number(v)]);
    expect(labels).toEqual(["yes", "no", "yes"]);
    await session.release();
  });

  it("refuses unknown recipes, recipes for the other task, bad parameters and a missing target", async () => {
    await expect(train({ ...base, recipe: "svm" as never })).rejects.toThrow(/unknown recipe "svm"/);
    await expect(train({ ...base, recipe: "ridge" })).rejects.toThrow(/does not do classification/);
    await expect(train({ ...base, recipe: "gbt", params: { maxDepth: 0 } })).rejects.toThrow(
      expect.objectContaining({ code: "bad_params" }),
    );
    await expect(train({ ...base, recipe: "mlp", params: { hiden: [3] } })).rejects.toThrow(/hiden/);
    await expect(train({ ...base, recipe: "gbt", target: "nope" })).rejects.toThrow(
      expect.objectContaining({ code: "unknown_column" }),
    );
    await expect(train({ ...base, recipe: "gbt", task: "regression" })).rejects.toThrow(
      expect.objectContaining({ code: "bad_target" }),
    );
  });
});

describe("compareOutputs", () => {
  const trainer = Float64Array.from([0.9, 0.1, 0.2, 0.8]);
  it("passes within the tolerance and excuses near-ties", () => {
    const report = compareOutputs(
      trainer,
      { values: Float32Array.from([0.90001, 0.09999, 0.2, 0.8]), labels: [0, 1] },
      2,
    );
    expect(report).toMatchObject({ ok: true, rows: 2, labelMismatches: 0 });
  });
  it("fails on a probability off by more than the tolerance, a wrong label, or a wrong length", () => {
    expect(
      compareOutputs(trainer, { values: Float32Array.from([0.8, 0.2, 0.2, 0.8]), labels: [0, 1] }, 2),
    ).toMatchObject({
      ok: false,
      examples: [{ row: 0, trainer: 0.9 }, { row: 0 }],
    });
    expect(compareOutputs(trainer, { values: Float32Array.from(trainer), labels: [1, 1] }, 2)).toMatchObject({
      ok: false,
      labelMismatches: 1,
    });
    expect(compareOutputs(trainer, { values: new Float32Array(2) }, 2).ok).toBe(false);
    expect(compareOutputs(Float64Array.of(100), { values: Float32Array.of(100.005) }, 0).ok).toBe(true);
    expect(compareOutputs(Float64Array.of(100), { values: Float32Array.of(100.1) }, 0).ok).toBe(false);
  });
});

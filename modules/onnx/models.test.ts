import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { GraphBuilder } from "./builder.js";
import { inspectOnnx } from "./inspect.js";
import {
  buildFailingModel,
  buildIdsSumModel,
  buildLinearRegressor,
  buildMlpClassifier,
  buildSlowModel,
  mlpFromLayers,
} from "./models.js";
import { seededRandom } from "./random.js";

const session = (bytes: Uint8Array) => ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });

function randomRows(count: number, width: number, seed: number): number[][] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => Array.from({ length: width }, () => random() * 4 - 2));
}

function expectClose(actual: ArrayLike<number>, expected: number[], tolerance = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(
      tolerance * Math.max(1, Math.abs(expected[i]!)),
    );
  }
}

describe("ready-made models", () => {
  it("MLP classifier matches the JS reference in onnxruntime", async () => {
    const mlp = buildMlpClassifier({ inputSize: 6, hiddenSizes: [16, 8], classes: 3, seed: 42 });
    const s = await session(mlp.bytes);
    expect(s.inputNames).toEqual(["features"]);
    expect(s.outputNames).toEqual(["logits"]);
    const rows = randomRows(5, 6, 1);
    const feeds = { features: new ort.Tensor("float32", Float32Array.from(rows.flat()), [5, 6]) };
    const out = (await s.run(feeds)).logits!;
    expect(out.dims).toEqual([5, 3]);
    expectClose(out.data as Float32Array, mlp.predict(rows).flat());
    await s.release();
  });

  it("is deterministic from the seed", () => {
    const a = buildMlpClassifier({ inputSize: 4, hiddenSizes: [5], classes: 2, seed: 9 });
    const b = buildMlpClassifier({ inputSize: 4, hiddenSizes: [5], classes: 2, seed: 9 });
    const c = buildMlpClassifier({ inputSize: 4, hiddenSizes: [5], classes: 2, seed: 10 });
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(Buffer.from(a.bytes).equals(Buffer.from(c.bytes))).toBe(false);
  });

  it("linear regressor with given weights predicts [batch, 1]", async () => {
    const lin = buildLinearRegressor({ inputSize: 3, weights: [1, 2, 3], bias: 0.5 });
    const s = await session(lin.bytes);
    const rows = [
      [1, 1, 1],
      [0, -1, 2],
    ];
    const out = (await s.run({ features: new ort.Tensor("float32", Float32Array.from(rows.flat()), [2, 3]) }))
      .prediction!;
    expect(out.dims).toEqual([2, 1]);
    expect(lin.predict(rows)).toEqual([6.5, 4.5]);
    expectClose(out.data as Float32Array, [6.5, 4.5]);
    await s.release();
  });

  it("INT64 model sums ids and returns BigInt maxima", async () => {
    const model = buildIdsSumModel({ length: 3 });
    const s = await session(model.bytes);
    const rows = [
      [1n, 2n, 3n],
      [10n, -4n, 7n],
    ];
    const out = await s.run({ ids: new ort.Tensor("int64", BigInt64Array.from(rows.flat()), [2, 3]) });
    const expected = model.predict(rows);
    expectClose(out.sum!.data as Float32Array, expected.sum);
    expect(Array.from(out.max_id!.data as BigInt64Array)).toEqual(expected.maxId);
    expect(out.max_id!.type).toBe("int64");
    await s.release();
  });

  it("slow model runs and keeps activations bounded", async () => {
    const model = buildSlowModel({ size: 32, depth: 10 });
    expect(model.bytes.byteLength).toBeLessThan(32 * 32 * 4 + 4096);
    const s = await session(model.bytes);
    const out = await s.run({ x: new ort.Tensor("float32", new Float32Array(64).fill(0.5), [2, 32]) });
    const y = out.y!.data as Float32Array;
    expect(y.every((v) => Number.isFinite(v) && Math.abs(v) <= 1)).toBe(true);
    await s.release();
  });

  it("failing model loads but fails at run time", async () => {
    const model = buildFailingModel();
    // Severity 4 (fatal only): the expected kernel error would otherwise be printed to the test log.
    const s = await ort.InferenceSession.create(model.bytes, { logSeverityLevel: 4 });
    await expect(s.run({ x: new ort.Tensor("float32", new Float32Array(4), [1, 4]) })).rejects.toThrow();
    await s.release();
  });

  it("writes metadata and producer fields that inspectOnnx reads back", () => {
    const model = buildMlpClassifier({
      inputSize: 2,
      hiddenSizes: [],
      classes: 2,
      seed: 1,
      model: { metadata: { "org.edgefleet.labels": "a,b" }, producerVersion: "0.1.0", modelVersion: 3 },
    });
    const info = inspectOnnx(model.bytes);
    expect(info.metadata).toEqual({ "org.edgefleet.labels": "a,b" });
    expect(info.producerName).toBe("edgefleet");
    expect(info.producerVersion).toBe("0.1.0");
    expect(info.modelVersion).toBe(3);
    expect(info.opsets).toEqual([{ domain: "", version: 17 }]);
  });
});

describe("GraphBuilder refusals", () => {
  it("refuses undefined inputs, duplicate names, unproduced outputs and bad initializer dims", () => {
    const g = new GraphBuilder("bad").input("x", "FP32", [1]);
    expect(() => g.node("Relu", ["nope"], ["y"])).toThrow(/"nope" is not defined/);
    expect(() => g.input("x", "FP32", [1])).toThrow(/defined twice/);
    expect(() => g.initializer("w", new Float32Array(3), [2, 2])).toThrow(/need 4 values/);
    g.output("y", "FP32", [1]);
    expect(() => g.toModel()).toThrow(/never produced/);
  });

  it("refuses a layer stack whose sizes do not chain", () => {
    const layer = (inputs: number, outputs: number) => ({
      inputs,
      outputs,
      weights: new Float32Array(inputs * outputs),
      bias: new Float32Array(outputs),
    });
    expect(() => mlpFromLayers([layer(2, 3), layer(4, 1)])).toThrow(/input size mismatch/);
    expect(() => mlpFromLayers([])).toThrow(/at least one layer/);
  });
});

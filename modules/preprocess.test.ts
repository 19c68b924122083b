import { describe, expect, it } from "vitest";
import { type Manifest, parseManifest } from "./manifest.js";
import { InputError, tabularFeeds } from "./preprocess.js";

const manifest: Manifest = parseManifest({
  schemaVersion: 1,
  name: "sensor",
  version: "1.0.0",
  model: { file: "model.onnx", sha256: "a".repeat(64), size: 10 },
  inputs: [{ name: "features", datatype: "FP32", shape: [-1, 3] }],
  outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 2] }],
  preprocessing: {
    kind: "tabular",
    input: "features",
    features: [
      { name: "temp", mean: 20, std: 5 },
      { name: "humidity", default: 50 },
      { name: "constructor" },
    ],
  },
  createdAt: "2026-01-01T00:00:00Z",
});

function refusal(request: unknown, maxRows?: number): InputError {
  try {
    tabularFeeds(manifest, request, { maxRows });
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).name).toBe("InputError");
    return error as InputError;
  }
  throw new Error("expected an InputError");
}

describe("tabularFeeds", () => {
  it("builds one standardised FP32 row from an object", () => {
    const feeds = tabularFeeds(manifest, { temp: 30, humidity: 40, constructor: 1 });
    expect(Object.keys(feeds)).toEqual(["features"]);
    expect(feeds.features!.datatype).toBe("FP32");
    expect(feeds.features!.shape).toEqual([1, 3]);
    expect(Array.from(feeds.features!.data)).toEqual([2, 40, 1]);
  });

  it("accepts batches of objects and of arrays, and applies defaults for missing or null features", () => {
    const feeds = tabularFeeds(manifest, [
      { temp: 20, constructor: 0 },
      [25, null, 2],
      { temp: 15, humidity: null, constructor: 3 },
    ]);
    expect(feeds.features!.shape).toEqual([3, 3]);
    expect(Array.from(feeds.features!.data)).toEqual([0, 50, 0, 1, 50, 2, -1, 50, 3]);
  });

  it("treats a flat array of numbers as one row in feature order", () => {
    const feeds = tabularFeeds(manifest, [25, 60, 1]);
    expect(feeds.features!.shape).toEqual([1, 3]);
    expect(Array.from(feeds.features!.data)).toEqual([1, 60, 1]);
  });

  it("refuses missing features without a default, naming them", () => {
    const error = refusal({ humidity: 1 });
    expect(error.message).toMatch(/missing feature "temp" in row 0 \(it has no default\) \(and 1 more\)/);
    expect(error.details?.problems.map((p) => p.feature)).toEqual(["temp", "constructor"]);
  });

  it("does not read inherited properties as features", () => {
    expect(refusal({ temp: 1 }).message).toMatch(/missing feature "constructor"/);
  });

  it("refuses unknown features", () => {
    expect(refusal({ temp: 1, constructor: 1, pressure: 3 }).message).toMatch(
      /unknown feature "pressure" in row 0; known: temp, humidity, constructor/,
    );
  });

  it("refuses non-numbers, NaN and infinities", () => {
    expect(refusal({ temp: "hot", constructor: 1 }).message).toMatch(
      /feature "temp" in row 0 must be a finite number, got "hot"/,
    );
    expect(refusal({ temp: true, constructor: 1 }).message).toMatch(/got true/);
    expect(refusal([[Number.NaN, 1, 1]]).message).toMatch(/got NaN/);
    expect(refusal([[1, Number.POSITIVE_INFINITY, 1]]).message).toMatch(/"humidity".*Infinity/);
    expect(
      refusal([
        { temp: 1, constructor: 1 },
        { temp: {}, constructor: 1 },
      ]).details?.problems,
    ).toEqual([{ row: 1, feature: "temp", message: expect.stringMatching(/row 1/) }]);
  });

  it("refuses arrays of the wrong length", () => {
    expect(refusal([[1, 2]]).message).toMatch(/row 0 has 2 values; expected 3/);
  });

  it("refuses empty batches, non-row items and anything that is not rows", () => {
    expect(refusal([]).message).toMatch(/empty/);
    expect(refusal([{ temp: 1, constructor: 1 }, "x"]).message).toMatch(/row 1 must be an object/);
    expect(refusal("temp=1").message).toMatch(/expected a feature object/);
    expect(refusal(null).message).toMatch(/expected a feature object/);
  });

  it("refuses batches over the limit before looking at rows", () => {
    const rows = Array.from({ length: 5 }, () => ({ temp: 1, constructor: 1 }));
    expect(tabularFeeds(manifest, rows, { maxRows: 5 }).features!.shape).toEqual([5, 3]);
    expect(refusal(rows, 4).message).toMatch(/the batch has 5 rows; the limit is 4/);
  });

  it("refuses modules without tabular preprocessing", () => {
    const plain = { ...manifest, preprocessing: { kind: "none" as const } };
    expect(() => tabularFeeds(plain, { temp: 1 })).toThrow(/has no tabular preprocessing/);
  });

  it("maps a categorical feature's name to its code, and an unknown name to -1 (unseen)", () => {
    const withCategories = parseManifest({
      ...manifest,
      preprocessing: {
        kind: "tabular",
        input: "features",
        features: [{ name: "colour", default: -1, categories: ["red", "green"] }, { name: "size" }],
      },
    });
    const feeds = tabularFeeds(withCategories, [
      { colour: "green", size: 2 },
      { colour: "purple", size: 3 },
      { colour: 0, size: 4 },
      { size: 5 },
    ]);
    expect([...(feeds.features!.data as Float32Array)]).toEqual([1, 2, -1, 3, 0, 4, -1, 5]);
    expect(() => tabularFeeds(manifest, { temp: "hot", constructor: 1 })).toThrow(/must be a finite number/);
  });
});

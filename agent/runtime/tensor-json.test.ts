import { describe, expect, it } from "vitest";
import { feedsFromJson, outputNamesFor } from "./feeds.js";
import { fromFloat16Bits, toFloat16Bits } from "./float16.js";
import { inferShape, TensorInputError, tensorFromJson, tensorToJson } from "./tensor-json.js";

describe("float16", () => {
  it.each([
    [0, 0x0000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [1e6, 0x7c00],
    [2 ** -24, 0x0001],
    [Number.NEGATIVE_INFINITY, 0xfc00],
  ])("%d ⇄ 0x%s", (value, bits) => {
    expect(toFloat16Bits(value)).toBe(bits);
    if (Math.abs(value) <= 65504) expect(fromFloat16Bits(bits)).toBe(value);
  });

  it("rounds to the nearest half", () => {
    expect(fromFloat16Bits(toFloat16Bits(0.1))).toBeCloseTo(0.1, 3);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(Number.NaN)))).toBe(true);
  });
});

describe("tensorFromJson", () => {
  it("accepts nested and flat data in row-major order", () => {
    const nested = tensorFromJson({
      name: "x",
      datatype: "FP32",
      shape: [2, 2],
      data: [
        [1, 2],
        [3, 4],
      ],
    });
    const flat = tensorFromJson({ name: "x", datatype: "FP32", shape: [2, 2], data: [1, 2, 3, 4] });
    expect(nested.data).toEqual(Float32Array.of(1, 2, 3, 4));
    expect(flat.data).toEqual(nested.data);
    expect(nested.dims).toEqual([2, 2]);
  });

  it("builds BigInt64 data for INT64 and booleans for BOOL", () => {
    expect(tensorFromJson({ name: "i", datatype: "INT64", shape: [2], data: [-3, 2 ** 40] }).data).toEqual(
      BigInt64Array.of(-3n, 2n ** 40n),
    );
    expect(tensorFromJson({ name: "b", datatype: "BOOL", shape: [3], data: [true, false, 1] }).data).toEqual(
      Uint8Array.of(1, 0, 1),
    );
  });

  it.each([
    [
      "a count mismatch",
      { datatype: "FP32", shape: [2, 2], data: [1, 2, 3] },
      /data has 3 elements but shape \[2,2\] needs 4/,
    ],
    ["too many elements", { datatype: "FP32", shape: [1], data: [1, 2] }, /data has 2 elements/],
    [
      "a string in FP32",
      { datatype: "FP32", shape: [2], data: [1, "2"] },
      /element 1 is "2", expected a number for FP32/,
    ],
    [
      "a fraction in INT64",
      { datatype: "INT64", shape: [1], data: [1.5] },
      /element 0 is 1.5, expected an integer/,
    ],
    ["an unsafe INT64", { datatype: "INT64", shape: [1], data: [2 ** 60] }, /expected an integer/],
    [
      "an out-of-range UINT8",
      { datatype: "UINT8", shape: [1], data: [256] },
      /expected an integer in \[0, 255\]/,
    ],
    ["a negative UINT8", { datatype: "UINT8", shape: [1], data: [-1] }, /UINT8/],
    ["a string BOOL", { datatype: "BOOL", shape: [1], data: ["yes"] }, /expected true or false/],
    ["data that is not an array", { datatype: "FP32", shape: [1], data: 3 }, /data must be an array/],
    // Counted before allocation: without that check this shape asks V8 for a 2³³-element array
    // (a RangeError, the 500 of issue 12 defect 6) and shapes below 2³² for up to 16 GiB.
    [
      "a declared shape far past the data sent",
      { datatype: "FP32", shape: [2 ** 16, 2 ** 16, 2], data: [1, 2] },
      /data has 2 elements but shape \[65536,65536,2\] needs 8589934592/,
    ],
  ])("refuses %s", (_, input, message) => {
    expect(() =>
      tensorFromJson({ name: "x", ...(input as { datatype: "FP32"; shape: number[]; data: unknown }) }),
    ).toThrow(message);
  });

  it("converts outputs back to JSON values", () => {
    const int64 = tensorFromJson({ name: "i", datatype: "INT64", shape: [1, 2], data: [[7, -1]] });
    expect(tensorToJson("i", int64)).toEqual({ name: "i", datatype: "INT64", shape: [1, 2], data: [7, -1] });
    const half = tensorFromJson({ name: "h", datatype: "FP16", shape: [2], data: [1.5, -0.25] });
    expect(tensorToJson("h", half).data).toEqual([1.5, -0.25]);
    const bool = tensorFromJson({ name: "b", datatype: "BOOL", shape: [2], data: [false, true] });
    expect(tensorToJson("b", bool).data).toEqual([false, true]);
  });
});

describe("inferShape", () => {
  it("reads the shape from the nesting and refuses ragged data", () => {
    expect(inferShape("x", [[1, 2, 3]])).toEqual([1, 3]);
    expect(inferShape("x", [1, 2])).toEqual([2]);
    expect(() => inferShape("x", [[1, 2], [3]])).toThrow(/ragged/);
    expect(() => inferShape("x", [[1, 2], 3])).toThrow(/ragged/);
    expect(() => inferShape("x", [1, [2]])).toThrow(/ragged/);
  });
});

describe("feedsFromJson", () => {
  const specs = [
    { name: "a", datatype: "FP32" as const, shape: [-1, 2] },
    { name: "b", datatype: "INT64" as const, shape: [1] },
  ];
  const a = { name: "a", datatype: "FP32", shape: [1, 2], data: [1, 2] };
  const b = { name: "b", datatype: "INT64", shape: [1], data: [3] };

  it("builds one tensor per declared input", () => {
    const feeds = feedsFromJson(specs, [a, b]);
    expect(Object.keys(feeds).sort()).toEqual(["a", "b"]);
    // Without a datatype the model's is used.
    expect(feedsFromJson(specs, [a, { ...b, datatype: undefined }]).b!.type).toBe("int64");
  });

  it.each([
    ["an unknown input", [a, b, { ...b, name: "c" }], /unknown input "c"; the model's inputs are "a", "b"/],
    ["a missing input", [a], /missing input "b"/],
    ["a duplicate input", [a, a, b], /input "a" is given more than once/],
    [
      "a wrong datatype",
      [a, { ...b, datatype: "INT32" }],
      /input "b" has datatype INT32 but the model expects INT64/,
    ],
    ["a wrong rank", [{ ...a, shape: [2] }, b], /input "a" has shape \[2\] but the model expects \[-1,2\]/],
    ["a wrong fixed dimension", [a, { ...b, shape: [2], data: [1, 2] }], /input "b" has shape \[2\]/],
  ])("refuses %s", (_, tensors, message) => {
    expect(() => feedsFromJson(specs, tensors)).toThrow(TensorInputError);
    expect(() => feedsFromJson(specs, tensors)).toThrow(message);
  });

  it("checks requested outputs", () => {
    const outputs = [
      { name: "y", datatype: "FP32" as const, shape: [1] },
      { name: "z", datatype: "FP32" as const, shape: [1] },
    ];
    expect(outputNamesFor(outputs)).toEqual(["y", "z"]);
    expect(outputNamesFor(outputs, ["z", "z"])).toEqual(["z"]);
    expect(() => outputNamesFor(outputs, ["w"])).toThrow(/unknown output "w"/);
  });
});

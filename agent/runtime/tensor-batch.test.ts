import { Tensor } from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { batchKey, concatFeeds, rowsOf, splitOutputs, UnsplittableOutputError } from "./tensor-batch.js";

const f32 = (rows: number[][]) =>
  new Tensor("float32", Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]);

describe("micro-batch stacking", () => {
  it("stacks requests along dimension 0 and cuts the outputs back in order", () => {
    const a = { x: f32([[1, 2]]), ids: new Tensor("int64", BigInt64Array.of(1n, 2n), [1, 2]) };
    const b = {
      x: f32([
        [3, 4],
        [5, 6],
      ]),
      ids: new Tensor("int64", BigInt64Array.of(3n, 4n, 5n, 6n), [2, 2]),
    };
    const stacked = concatFeeds([a, b]);
    expect(stacked.x!.dims).toEqual([3, 2]);
    expect(Array.from(stacked.x!.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(stacked.ids!.data).toEqual(BigInt64Array.of(1n, 2n, 3n, 4n, 5n, 6n));
    const [first, second] = splitOutputs({ y: stacked.x! }, [rowsOf(a), rowsOf(b)]);
    expect(first!.y!.dims).toEqual([1, 2]);
    expect(Array.from(first!.y!.data as Float32Array)).toEqual([1, 2]);
    expect(Array.from(second!.y!.data as Float32Array)).toEqual([3, 4, 5, 6]);
  });

  it("stacks string tensors", () => {
    const one = { s: new Tensor("string", ["a"], [1]) };
    const two = { s: new Tensor("string", ["b", "c"], [2]) };
    const stacked = concatFeeds([one, two]);
    expect(stacked.s!.data).toEqual(["a", "b", "c"]);
    expect(splitOutputs(stacked, [1, 2]).map((piece) => piece.s!.data)).toEqual([["a"], ["b", "c"]]);
  });

  it("keys requests by input types, trailing dimensions and requested outputs", () => {
    const key = batchKey({ x: f32([[1, 2]]) }, ["y"]);
    expect(
      batchKey(
        {
          x: f32([
            [1, 2],
            [3, 4],
          ]),
        },
        ["y"],
      ),
    ).toBe(key);
    expect(batchKey({ x: f32([[1, 2, 3]]) }, ["y"])).not.toBe(key);
    expect(batchKey({ x: f32([[1, 2]]) }, ["y", "z"])).not.toBe(key);
  });

  it("refuses to split outputs that are not batch-major", () => {
    const scalar = new Tensor("float32", Float32Array.of(7), [1]);
    expect(() => splitOutputs({ total: scalar }, [1, 1])).toThrow(UnsplittableOutputError);
  });
});

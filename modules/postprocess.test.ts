import { Tensor } from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { PostprocessingSchema } from "./manifest.js";
import { PostprocessError, postprocess, sigmoid, softmax } from "./postprocess.js";

const spec = (value: unknown) => PostprocessingSchema.parse(value);
const logits = { logits: { data: Float32Array.from([1, 2, 3, 0, 0, 0]), shape: [2, 3] } };

describe("softmax and sigmoid", () => {
  it("are numerically stable for large inputs", () => {
    const p = softmax([1000, 1001, 1002]);
    expect(p.every(Number.isFinite)).toBe(true);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p[2]!).toBeCloseTo(softmax([0, 1, 2])[2]!, 12);
    expect(sigmoid(-1000)).toBe(0);
    expect(sigmoid(1000)).toBe(1);
    expect(sigmoid(0)).toBe(0.5);
  });
});

describe("postprocess", () => {
  it("raw: every output, nested per row, BigInt converted", () => {
    const out = postprocess(
      spec({ kind: "raw" }),
      {
        logits: logits.logits,
        ids: { data: BigInt64Array.from([1n, 2n ** 60n]), shape: [2, 1] },
        constant: { data: Float32Array.of(7), shape: [] },
      },
      2,
    );
    expect(out).toEqual([
      { logits: [1, 2, 3], ids: [1], constant: 7 },
      { logits: [0, 0, 0], ids: [(2n ** 60n).toString()], constant: 7 },
    ]);
    expect(() => JSON.stringify(out)).not.toThrow();
  });

  it("raw: keeps inner dimensions nested", () => {
    const out = postprocess(
      spec({ kind: "raw" }),
      { y: { data: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), shape: [2, 2, 2] } },
      2,
    );
    expect(out).toEqual([
      {
        y: [
          [1, 2],
          [3, 4],
        ],
      },
      {
        y: [
          [5, 6],
          [7, 8],
        ],
      },
    ]);
  });

  it("softmax: probabilities per label, winner and score", () => {
    const out = postprocess(spec({ kind: "softmax", output: "logits", labels: ["a", "b", "c"] }), logits, 2);
    const expected = softmax([1, 2, 3]);
    expect(out[0]).toEqual({
      probabilities: { a: expected[0], b: expected[1], c: expected[2] },
      label: "c",
      score: expected[2],
    });
    expect(out[1]).toMatchObject({ label: "a", score: 1 / 3 });
  });

  it("softmax: falls back to class indexes and can take probabilities as they are", () => {
    const out = postprocess(
      spec({ kind: "softmax", output: "p", fromProbabilities: true }),
      { p: { data: Float32Array.from([0.25, 0.75]), shape: [1, 2] } },
      1,
    );
    expect(out).toEqual([{ probabilities: { "0": 0.25, "1": 0.75 }, label: "1", score: 0.75 }]);
  });

  it("argmax: label, index and score, with or without softmax", () => {
    expect(
      postprocess(spec({ kind: "argmax", output: "logits", labels: ["a", "b", "c"] }), logits, 2)[0],
    ).toEqual({
      label: "c",
      index: 2,
      score: softmax([1, 2, 3])[2],
    });
    expect(postprocess(spec({ kind: "argmax", output: "logits", applySoftmax: false }), logits, 2)).toEqual([
      { label: "2", index: 2, score: 3 },
      { label: "0", index: 0, score: 0 },
    ]);
  });

  it("topk: the k best in order, k capped at the class count", () => {
    const out = postprocess(
      spec({ kind: "topk", output: "logits", k: 2, applySoftmax: false, labels: ["a", "b", "c"] }),
      logits,
      2,
    );
    expect(out[0]).toEqual({
      top: [
        { label: "c", index: 2, score: 3 },
        { label: "b", index: 1, score: 2 },
      ],
    });
    expect(out[1]).toEqual({
      top: [
        { label: "a", index: 0, score: 0 },
        { label: "b", index: 1, score: 0 },
      ],
    });
    const all = postprocess(spec({ kind: "topk", output: "logits", k: 10 }), logits, 2);
    expect((all[0] as { top: unknown[] }).top).toHaveLength(3);
  });

  it("threshold: one score per row or [negative, positive] pairs, optional sigmoid", () => {
    const one = { s: { data: Float32Array.from([0.2, 0.9]), shape: [2, 1] } };
    expect(
      postprocess(spec({ kind: "threshold", output: "s", threshold: 0.5, labels: ["ok", "alarm"] }), one, 2),
    ).toEqual([
      { label: "ok", score: Math.fround(0.2) },
      { label: "alarm", score: Math.fround(0.9) },
    ]);
    const pairs = { p: { data: Float32Array.from([0.9, 0.1, 0.3, 0.7]), shape: [2, 2] } };
    expect(
      postprocess(spec({ kind: "threshold", output: "p", threshold: 0.5 }), pairs, 2).map(
        (p) => (p as { label: string }).label,
      ),
    ).toEqual(["0", "1"]);
    const logit = { z: { data: Float32Array.from([-3, 3]), shape: [2] } };
    const out = postprocess(
      spec({ kind: "threshold", output: "z", threshold: 0.5, applySigmoid: true }),
      logit,
      2,
    );
    expect(out).toEqual([
      { label: "0", score: sigmoid(-3) },
      { label: "1", score: sigmoid(3) },
    ]);
  });

  it("accepts onnxruntime tensors (dims instead of shape)", () => {
    const tensor = new Tensor("float32", Float32Array.from([0, 5]), [1, 2]);
    expect(postprocess(spec({ kind: "argmax", output: "y", applySoftmax: false }), { y: tensor }, 1)).toEqual(
      [{ label: "1", index: 1, score: 5 }],
    );
  });

  it("refuses outputs that do not fit the spec", () => {
    expect(() => postprocess(spec({ kind: "argmax", output: "nope" }), logits, 2)).toThrow(/did not return/);
    expect(() => postprocess(spec({ kind: "argmax", output: "logits" }), logits, 3)).toThrow(
      /expected \[3, classes\]/,
    );
    expect(() =>
      postprocess(spec({ kind: "argmax", output: "logits", labels: ["a", "b"] }), logits, 2),
    ).toThrow(/2 labels configured but output "logits" has 3 classes/);
    expect(() => postprocess(spec({ kind: "threshold", output: "logits", threshold: 0 }), logits, 2)).toThrow(
      PostprocessError,
    );
    expect(() =>
      postprocess(spec({ kind: "argmax", output: "s" }), { s: { data: ["a", "b"], shape: [2, 1] } }, 2),
    ).toThrow(/not numeric/);
  });
});

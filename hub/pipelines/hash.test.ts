import { describe, expect, it } from "vitest";
import { canonicalJson, inputsHash } from "./hash.js";

describe("inputsHash", () => {
  it("is the same whatever order the keys were written in, at every depth", () => {
    const a = { recipe: "gbt", params: { depth: 3, rounds: 100 }, seed: 1 };
    const b = { seed: 1, params: { rounds: 100, depth: 3 }, recipe: "gbt" };
    expect(inputsHash("train", a)).toBe(inputsHash("train", b));
    expect(canonicalJson(b)).toBe('{"params":{"depth":3,"rounds":100},"recipe":"gbt","seed":1}');
  });

  it("changes with any value, with the kind, and with array order", () => {
    const base = inputsHash("train", { params: { depth: 3 }, order: [1, 2] });
    expect(inputsHash("train", { params: { depth: 4 }, order: [1, 2] })).not.toBe(base);
    expect(inputsHash("package", { params: { depth: 3 }, order: [1, 2] })).not.toBe(base);
    expect(inputsHash("train", { params: { depth: 3 }, order: [2, 1] })).not.toBe(base);
  });

  it("leaves out undefined members as JSON does", () => {
    expect(inputsHash("train", { a: 1, b: undefined })).toBe(inputsHash("train", { a: 1 }));
  });
});

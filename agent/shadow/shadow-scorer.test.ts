import { describe, expect, it } from "vitest";
import { compare } from "./shadow-scorer.js";

describe("comparing a candidate's answer with the one given", () => {
  it("classifier answers agree on the label; the shift is the mean move of the probabilities", () => {
    const served = { label: "a", probabilities: { a: 0.7, b: 0.3 } };
    expect(compare(served, { label: "a", probabilities: { a: 0.6, b: 0.4 } })).toEqual({
      agreed: true,
      shift: expect.closeTo(0.1, 9),
    });
    expect(compare(served, { label: "b", probabilities: { a: 0.4, b: 0.6 } }).agreed).toBe(false);
    expect(compare({ top: [{ label: "x" }] }, { top: [{ label: "x" }] }).agreed).toBe(true);
  });

  it("numeric answers agree within the tolerance and not beyond; missing numbers disagree", () => {
    expect(compare({ values: [1, 2] }, { values: [1.0000001, 2] })).toMatchObject({ agreed: true });
    expect(compare({ values: [1, 2] }, { values: [1.5, 2] })).toEqual({ agreed: false, shift: 0.25 });
    expect(compare({ values: [1, 2] }, { values: [1] }).agreed).toBe(false);
    expect(compare("text", "text")).toEqual({ agreed: true, shift: null });
  });
});

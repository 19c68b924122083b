import { describe, expect, it } from "vitest";
import { integerFlag, numberFlag, positiveInt } from "./number-flags.js";

describe("number flags", () => {
  it("parse what fits and refuse the rest with the flag's name and the range", () => {
    expect(numberFlag("--alpha", "0.01")).toBe(0.01);
    expect(() => numberFlag("--alpha", "")).toThrow('--alpha needs a number, got ""');
    expect(() => numberFlag("--alpha", "Infinity")).toThrow(/needs a number/);
    expect(integerFlag("--scales", "16", 1, 256)).toBe(16);
    expect(() => integerFlag("--scales", "300", 1, 256)).toThrow(
      '--scales takes a whole number from 1 to 256, got "300"',
    );
    expect(() => integerFlag("--n", "1.5", 2)).toThrow('--n takes a whole number >= 2, got "1.5"');
    expect(positiveInt(undefined, "--limit")).toBeUndefined();
    expect(positiveInt("0", "--grace", true)).toBe(0);
    expect(() => positiveInt("0", "--limit")).toThrow('--limit takes a positive integer, got "0"');
    expect(() => positiveInt("-1", "--seed", true)).toThrow('--seed takes a non-negative integer, got "-1"');
  });
});

import { describe, expect, it } from "vitest";
import {
  buildRolloutSpec,
  DEFAULT_BAKE_MS,
  DEFAULT_GATES,
  RolloutRequestSchema,
  waveCounts,
} from "./spec.js";

describe("buildRolloutSpec", () => {
  it("all-at-once is one wave of every target, no bake", () => {
    expect(buildRolloutSpec({})).toEqual({
      strategy: "all-at-once",
      spec: { waves: [{ percent: 100, bakeMs: 0 }], ratePerMinute: null, gates: DEFAULT_GATES },
    });
  });

  it("canary by count or percent, then everyone; the strategy follows from the parts", () => {
    expect(buildRolloutSpec({ canary: { count: 5 } }).spec.waves).toEqual([
      { count: 5, bakeMs: DEFAULT_BAKE_MS },
      { percent: 100, bakeMs: DEFAULT_BAKE_MS },
    ]);
    expect(buildRolloutSpec({ canary: { percent: 10 }, bakeMs: 1000 }).strategy).toBe("canary");
  });

  it("waves keep their own bake or take the default; gates merge over the defaults", () => {
    const { spec } = buildRolloutSpec({
      waves: [{ percent: 10, bakeMs: 5 }, { percent: 100 }],
      bakeMs: 7,
      ratePerMinute: 30,
      gates: { maxErrorRate: 0.5 },
    });
    expect(spec.waves).toEqual([
      { percent: 10, bakeMs: 5 },
      { percent: 100, bakeMs: 7 },
    ]);
    expect(spec).toMatchObject({ ratePerMinute: 30, gates: { ...DEFAULT_GATES, maxErrorRate: 0.5 } });
  });

  it("refuses contradictions", () => {
    expect(() => buildRolloutSpec({ canary: { count: 1 }, waves: [{ percent: 100 }] })).toThrow(/not both/);
    expect(() => buildRolloutSpec({ strategy: "all-at-once", canary: { count: 1 } })).toThrow(
      /takes no canary/,
    );
    expect(() => buildRolloutSpec({ strategy: "canary" })).toThrow(/needs canary/);
    expect(() => buildRolloutSpec({ waves: [{ percent: 60 }, { percent: 60 }, { percent: 100 }] })).toThrow(
      /increase/,
    );
    expect(() => buildRolloutSpec({ waves: [{ percent: 50 }] })).toThrow(/last wave must be 100/);
    expect(RolloutRequestSchema.safeParse({ canary: {} }).success).toBe(false);
    expect(RolloutRequestSchema.safeParse({ strategy: "blue-green" }).success).toBe(false);
    expect(RolloutRequestSchema.safeParse({ gates: { bogus: 1 } }).success).toBe(false);
  });
});

describe("waveCounts", () => {
  it("turns percentages into cumulative counts, at least one device per wave, the last always all", () => {
    const spec = buildRolloutSpec({ waves: [{ percent: 10 }, { percent: 50 }, { percent: 100 }] }).spec;
    expect(waveCounts(spec, 200)).toEqual([20, 100, 200]);
    expect(waveCounts(spec, 3)).toEqual([1, 2, 3]);
    expect(waveCounts(spec, 1)).toEqual([1, 1, 1]);
    expect(waveCounts(buildRolloutSpec({ canary: { count: 50 } }).spec, 10)).toEqual([10, 10]);
  });
});

import { describe, expect, it } from "vitest";
import { planStep, type RolloutProgress } from "./planner.js";

const T0 = new Date("2025-06-01T00:00:00.000Z");
const at = (ms: number) => new Date(T0.getTime() + ms);
const base: RolloutProgress = {
  status: "active",
  counts: [2, 10],
  bakes: [60_000, 60_000],
  ratePerMinute: null,
  wave: 0,
  released: 0,
  waveStartedAt: null,
  bakeStartedAt: null,
};

describe("planStep", () => {
  it("does nothing unless active", () => {
    for (const status of ["paused", "completed", "aborted", "rolled-back"])
      expect(planStep({ ...base, status }, T0)).toEqual({ kind: "idle" });
  });

  it("releases a whole wave at once without a rate limit, starting the bake", () => {
    expect(planStep(base, T0)).toEqual({
      kind: "release",
      released: 2,
      waveStartedAt: T0,
      bakeStartedAt: T0,
    });
  });

  it("waits out the bake, then asks the gates; the last wave completes", () => {
    const baking = { ...base, released: 2, waveStartedAt: T0, bakeStartedAt: T0 };
    expect(planStep(baking, at(59_999))).toEqual({ kind: "wait", at: at(60_000), reason: "bake" });
    expect(planStep(baking, at(60_000))).toEqual({ kind: "judge", last: false, nextWave: 1 });
    const last = { ...baking, wave: 1, released: 10 };
    expect(planStep(last, at(60_000))).toEqual({ kind: "judge", last: true, nextWave: 2 });
  });

  it("paces releases by the rate limit within a wave", () => {
    const paced = { ...base, counts: [4, 10], ratePerMinute: 2 };
    expect(planStep(paced, T0)).toMatchObject({ kind: "release", released: 1, bakeStartedAt: null });
    const one = { ...paced, released: 1, waveStartedAt: T0 };
    expect(planStep(one, at(10_000))).toEqual({ kind: "wait", at: at(30_000), reason: "rate-limit" });
    expect(planStep(one, at(30_000))).toMatchObject({ kind: "release", released: 2 });
    expect(planStep(one, at(95_000))).toMatchObject({
      kind: "release",
      released: 4,
      bakeStartedAt: at(95_000),
    });
  });

  it("a wave whose devices are all out but whose bake never started starts it (idempotent after a crash)", () => {
    const out = { ...base, released: 2, waveStartedAt: T0 };
    expect(planStep(out, at(5))).toEqual({
      kind: "release",
      released: 2,
      waveStartedAt: T0,
      bakeStartedAt: at(5),
    });
  });
});

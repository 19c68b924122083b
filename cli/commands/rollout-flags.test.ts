import { describe, expect, it } from "vitest";
import { CliError } from "../hub-target.js";
import { parseDuration, rolloutRequest } from "./rollout-flags.js";

describe("deploy strategy flags", () => {
  it("parses durations", () => {
    expect([
      parseDuration("250ms"),
      parseDuration("30s"),
      parseDuration("5m"),
      parseDuration("1h"),
      parseDuration("0"),
    ]).toEqual([250, 30_000, 300_000, 3_600_000, 0]);
    expect(() => parseDuration("5")).toThrow(CliError);
    expect(() => parseDuration("soon")).toThrow(/not a duration/);
  });

  it("builds canary, waves, bake, rate, priority and gates", () => {
    expect(rolloutRequest({ canary: "10%", bake: "5m" })).toEqual({
      canary: { percent: 10 },
      bakeMs: 300_000,
    });
    expect(rolloutRequest({ canary: "3" })).toEqual({ canary: { count: 3 } });
    expect(rolloutRequest({ waves: "10,50,100", bake: "1m,2m,0", rate: "20/min", priority: "5" })).toEqual({
      waves: [
        { percent: 10, bakeMs: 60_000 },
        { percent: 50, bakeMs: 120_000 },
        { percent: 100, bakeMs: 0 },
      ],
      ratePerMinute: 20,
      priority: 5,
    });
    expect(rolloutRequest({ maxFailureRate: "0.1", maxPredictionShift: "0.3", minRequests: "10" })).toEqual({
      gates: { maxFailureRate: 0.1, maxPredictionShift: 0.3, minRequests: 10 },
    });
    expect(rolloutRequest({})).toEqual({});
  });

  it("refuses conflicting and malformed flags", () => {
    expect(() => rolloutRequest({ canary: "5", waves: "50,100" })).toThrow(/conflict/);
    expect(() => rolloutRequest({ onNoData: "maybe" })).toThrow(/--on-no-data takes pass, wait or fail/);
    expect(rolloutRequest({ onNoData: "wait" }).gates).toEqual({ onNoData: "wait" });
    expect(() => rolloutRequest({ canary: "1.5" })).toThrow(/--canary/);
    expect(() => rolloutRequest({ canary: "-2%" })).toThrow(/--canary/);
    expect(() => rolloutRequest({ waves: "10,x,100" })).toThrow(/--waves needs a number/);
    expect(() => rolloutRequest({ waves: "10,100", bake: "1m,2m,3m" })).toThrow(/one per wave/);
    expect(() => rolloutRequest({ bake: "1m,2m" })).toThrow(/need --waves/);
    expect(() => rolloutRequest({ rate: "fast" })).toThrow(/--rate/);
    expect(() => rolloutRequest({ maxErrorRate: "lots" })).toThrow(/--max-error-rate/);
    expect(rolloutRequest({ activationTimeout: "2m", onOffline: "fail" }).gates).toEqual({
      activationTimeoutMs: 120_000,
      onOffline: "fail",
    });
    expect(() => rolloutRequest({ activationTimeout: "soon" })).toThrow(/not a duration/);
    expect(() => rolloutRequest({ onOffline: "ignore" })).toThrow(/--on-offline takes exclude or fail/);
    expect(
      rolloutRequest({ shadow: true, shadowBake: "2m", minAgreement: "0.9", shadowMinScored: "500" }),
    ).toEqual({
      shadow: { bakeMs: 120_000, minAgreement: 0.9, minScored: 500 },
    });
    expect(rolloutRequest({ shadow: true })).toEqual({ shadow: {} });
    expect(() => rolloutRequest({ minAgreement: "0.9" })).toThrow(/need --shadow/);
  });
});

import { describe, expect, it } from "vitest";
import { LATENCY_BUCKETS_MS, type ModuleWindow } from "../../wire/messages.js";
import { evaluateGates } from "./gates.js";
import { DEFAULT_GATES } from "./spec.js";
import { addWindow, emptyAggregate, meanShift, p95, totalVariation } from "./stats.js";

function window(options: {
  requests: number;
  errors?: number;
  bucket?: number;
  labels?: Record<string, number>;
  sum?: number;
  sumSquares?: number;
}): ModuleWindow {
  const latencyCounts = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latencyCounts[options.bucket ?? 3] = options.requests;
  return {
    name: "m",
    version: "x",
    requests: options.requests,
    errors: options.errors ?? 0,
    latencyBucketsMs: [...LATENCY_BUCKETS_MS],
    latencyCounts,
    latencySumMs: 0,
    inputs: [],
    outputs: options.labels
      ? [{ name: "label", count: options.requests, labels: options.labels }]
      : [
          {
            name: "score",
            count: options.requests,
            sum: options.sum ?? 0,
            sumSquares: options.sumSquares ?? 0,
          },
        ],
  };
}
const agg = (...windows: ModuleWindow[]) => windows.reduce(addWindow, emptyAggregate());

describe("statistics", () => {
  it("p95 is the upper bound of the bucket holding the 95th percentile", () => {
    const counts = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
    counts[2] = 94;
    counts[6] = 6;
    expect(p95(counts)).toBe(LATENCY_BUCKETS_MS[6]);
    expect(p95(new Array(14).fill(0))).toBeNull();
  });

  it("total variation distance and mean shift", () => {
    expect(
      totalVariation(
        new Map([
          ["a", 70],
          ["b", 30],
        ]),
        new Map([
          ["a", 30],
          ["b", 70],
        ]),
      ),
    ).toBeCloseTo(0.4);
    expect(totalVariation(new Map([["a", 1]]), new Map([["a", 5]]))).toBe(0);
    expect(totalVariation(new Map(), new Map([["a", 5]]))).toBeNull();
    // previous: mean 1, variance 1 (values 0 and 2); next: mean 3 → 2 standard deviations.
    expect(meanShift({ n: 2, sum: 6 }, { n: 2, sum: 2, sumSquares: 4 })).toBeCloseTo(2);
  });
});

describe("evaluateGates", () => {
  const healthy = agg(window({ requests: 100, labels: { a: 70, b: 30 } }));
  it("passes a healthy version", () => {
    const report = evaluateGates(
      { released: 10, failed: 0, next: healthy, previous: healthy },
      DEFAULT_GATES,
    );
    expect(report.passed).toBe(true);
    expect(report.results.map((r) => [r.gate, r.status])).toEqual([
      ["failures", "pass"],
      ["error-rate", "pass"],
      ["latency-p95", "pass"],
      ["prediction-shift", "pass"],
    ]);
  });

  it("fails each gate past its threshold", () => {
    const fail = (obs: Parameters<typeof evaluateGates>[0]) =>
      evaluateGates(obs, DEFAULT_GATES)
        .results.filter((r) => r.status === "fail")
        .map((r) => r.gate);
    expect(fail({ released: 10, failed: 1, next: healthy, previous: healthy })).toEqual(["failures"]);
    expect(
      fail({
        released: 10,
        failed: 0,
        next: agg(window({ requests: 100, errors: 10, labels: { a: 70, b: 30 } })),
        previous: healthy,
      }),
    ).toEqual(["error-rate"]);
    expect(
      fail({
        released: 10,
        failed: 0,
        next: agg(window({ requests: 100, bucket: 8, labels: { a: 70, b: 30 } })),
        previous: healthy,
      }),
    ).toEqual(["latency-p95"]);
    expect(
      fail({
        released: 10,
        failed: 0,
        next: agg(window({ requests: 100, labels: { a: 40, b: 60 } })),
        previous: healthy,
      }),
    ).toEqual(["prediction-shift"]);
    const prev = agg(window({ requests: 100, sum: 100, sumSquares: 200 }));
    expect(
      fail({
        released: 10,
        failed: 0,
        next: agg(window({ requests: 100, sum: 300, sumSquares: 1000 })),
        previous: prev,
      }),
    ).toEqual(["prediction-shift"]);
  });

  it("lets onNoData decide a bake with too little traffic on the new version: pass, wait or fail", () => {
    const thin = agg(window({ requests: 5, labels: { a: 5 } }));
    const observed = { released: 1, failed: 0, next: thin, previous: healthy };
    const pass = evaluateGates(observed, DEFAULT_GATES);
    expect(pass).toMatchObject({ passed: true });
    expect(pass.waiting).toBeUndefined();
    expect(evaluateGates(observed, { ...DEFAULT_GATES, onNoData: "wait" })).toMatchObject({
      passed: true,
      waiting: true,
    });
    const fail = evaluateGates(observed, { ...DEFAULT_GATES, onNoData: "fail" });
    expect(fail.passed).toBe(false);
    expect(fail.results.find((r) => r.status === "fail")).toMatchObject({
      gate: "error-rate",
      message: "5 requests on the new version, fewer than the 50 the gates need (onNoData: fail)",
    });
    // Enough traffic: onNoData plays no part; a failing gate is not turned into waiting.
    const busy = agg(window({ requests: 100, errors: 50, labels: { a: 100 } }));
    const failed = evaluateGates({ ...observed, next: busy }, { ...DEFAULT_GATES, onNoData: "wait" });
    expect(failed).toMatchObject({ passed: false });
    expect(failed.waiting).toBeUndefined();
  });

  it("reports no-data instead of judging thin telemetry, and early checks judge failures only", () => {
    const thin = agg(window({ requests: 5, errors: 5, labels: { b: 5 } }));
    const report = evaluateGates({ released: 1, failed: 0, next: thin, previous: healthy }, DEFAULT_GATES);
    expect(report.passed).toBe(true);
    expect(report.results.filter((r) => r.status === "no-data").map((r) => r.gate)).toEqual([
      "error-rate",
      "latency-p95",
      "prediction-shift",
    ]);
    expect(
      evaluateGates({ released: 2, failed: 1, next: thin, previous: thin }, DEFAULT_GATES, true).results,
    ).toHaveLength(1);
  });
});

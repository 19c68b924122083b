import { describe, expect, it } from "vitest";
import { LATENCY_BUCKETS_MS, type ModuleWindow } from "../../wire/messages.js";
import { judgeShadow, shadowFigures } from "./shadow.js";
import { DEFAULT_SHADOW } from "./spec.js";

const spec = { ...DEFAULT_SHADOW, minScored: 10, phase: "scoring" as const };
const buckets = (at: number, n: number) => {
  const counts = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
  counts[at] = n;
  return counts;
};
function window(shadow: Partial<NonNullable<ModuleWindow["shadow"]>>, version = "1.0.0"): ModuleWindow {
  return {
    name: "m",
    version,
    requests: 20,
    errors: 0,
    latencyBucketsMs: [...LATENCY_BUCKETS_MS],
    latencyCounts: buckets(2, 20),
    latencySumMs: 30,
    inputs: [],
    outputs: [{ name: "label", count: 20, labels: { a: 15, b: 5 } }],
    shadow: {
      version: "2.0.0",
      scored: 20,
      errors: 0,
      dropped: 1,
      compared: 20,
      agreed: 19,
      shiftSum: 2,
      shiftRows: 20,
      latencyCounts: buckets(3, 20),
      latencySumMs: 60,
      outputs: [{ name: "label", count: 20, labels: { a: 14, b: 6 } }],
      ...shadow,
    },
  };
}
const reports = [
  { deviceId: "d1", state: "scoring" as const },
  { deviceId: "d2", state: "scoring" as const },
];

describe("shadow figures and gates", () => {
  it("adds up the windows carrying this candidate, serving and candidate side by side", () => {
    const f = shadowFigures("2.0.0", [window({}), window({}), window({ version: "9.9.9" })], reports);
    expect(f.serving).toMatchObject({
      versions: ["1.0.0"],
      requests: 40,
      latencyP95Ms: 2,
      labels: { a: 30, b: 10 },
    });
    expect(f.candidate).toMatchObject({
      version: "2.0.0",
      requests: 40,
      dropped: 2,
      compared: 40,
      agreed: 38,
      agreement: 0.95,
      meanAbsShift: 0.1,
      latencyP95Ms: 5,
      labels: { a: 28, b: 12 },
    });
    expect(f.devices).toEqual({ targeted: 2, scoring: 2, loading: 0, failed: [] });
  });

  it("promotes on enough agreement, drops below it, on slow or failing candidates, and waits without data", () => {
    const ok = judgeShadow(
      shadowFigures("2.0.0", [window({ latencyCounts: buckets(2, 20) })], reports),
      spec,
    );
    expect(ok).toMatchObject({ passed: true, waiting: false });
    const disagree = judgeShadow(shadowFigures("2.0.0", [window({ agreed: 10 })], reports), spec);
    expect(disagree.passed).toBe(false);
    expect(disagree.results.find((r) => r.gate === "shadow-agreement")).toMatchObject({
      status: "fail",
      value: 0.5,
    });
    const slow = judgeShadow(
      shadowFigures("2.0.0", [window({ latencyCounts: buckets(6, 20) })], reports),
      spec,
    );
    expect(slow.results.find((r) => r.gate === "shadow-latency-p95")).toMatchObject({
      status: "fail",
      value: 25,
    });
    const failing = judgeShadow(shadowFigures("2.0.0", [window({ scored: 15, errors: 5 })], reports), spec);
    expect(failing.results.find((r) => r.gate === "shadow-error-rate")?.status).toBe("fail");
    const quiet = judgeShadow(
      shadowFigures("2.0.0", [window({ scored: 3, compared: 3, agreed: 3 })], reports),
      spec,
    );
    expect(quiet).toMatchObject({ passed: false, waiting: true });
    const broken = judgeShadow(
      shadowFigures(
        "2.0.0",
        [window({})],
        [{ deviceId: "d1", state: "failed", error: "warm-up run failed" }, reports[0]!],
      ),
      spec,
    );
    expect(broken.results[0]).toMatchObject({ gate: "shadow-load", status: "fail" });
    expect(broken.results[0]!.message).toMatch(/d1: warm-up run failed/);
  });
});

import { describe, expect, it } from "vitest";
import { LATENCY_BUCKETS_MS, ModuleWindowSchema } from "../../wire/messages.js";
import { latencyBucketIndex, TelemetryRecorder } from "./recorder.js";

describe("TelemetryRecorder", () => {
  it("puts latencies in fixed per-bucket counts with an overflow slot", () => {
    expect(latencyBucketIndex(0)).toBe(0);
    expect(latencyBucketIndex(0.5)).toBe(0);
    expect(latencyBucketIndex(0.51)).toBe(1);
    expect(latencyBucketIndex(5000)).toBe(LATENCY_BUCKETS_MS.length - 1);
    expect(latencyBucketIndex(5001)).toBe(LATENCY_BUCKETS_MS.length);
  });

  it("summarises requests, errors, latency and features per module version, then resets", () => {
    const recorder = new TelemetryRecorder();
    recorder.record({ module: "m", version: "1.0.0", latencyMs: 0.7, ok: true, features: { a: 1, b: 10 } });
    recorder.record({
      module: "m",
      version: "1.0.0",
      latencyMs: 3,
      ok: true,
      features: [
        { a: 3, extra: "x" },
        { a: null, b: 20 },
      ],
      featureNames: ["a", "b"],
    });
    recorder.record({ module: "m", version: "1.0.0", latencyMs: 9000, ok: false });
    recorder.record({ module: "m", version: "2.0.0", latencyMs: 1, ok: true });

    const windows = recorder.takeWindow();
    expect(windows.map((w) => `${w.name}@${w.version}`)).toEqual(["m@1.0.0", "m@2.0.0"]);
    const [first] = windows;
    for (const window of windows) expect(ModuleWindowSchema.parse(window)).toEqual(window);
    expect(first).toMatchObject({ requests: 3, errors: 1, latencySumMs: 9003.7 });
    expect(first!.latencyBucketsMs).toEqual([...LATENCY_BUCKETS_MS]);
    expect(first!.latencyCounts.reduce((a, b) => a + b, 0)).toBe(3);
    expect(first!.latencyCounts[1]).toBe(1); // 0.7 ms in (0.5, 1]
    expect(first!.latencyCounts[3]).toBe(1); // 3 ms in (2, 5]
    expect(first!.latencyCounts.at(-1)).toBe(1); // overflow
    expect(first!.inputs).toEqual([
      { name: "a", count: 3, missing: 1, min: 1, max: 3, sum: 4, sumSquares: 10 },
      { name: "b", count: 3, missing: 1, min: 10, max: 20, sum: 30, sumSquares: 500 },
    ]);
    expect(recorder.takeWindow()).toEqual([]);
  });

  it("reports null min and max for a feature that was always missing", () => {
    const recorder = new TelemetryRecorder();
    recorder.record({ module: "m", version: "1", latencyMs: 1, ok: true, features: {}, featureNames: ["a"] });
    expect(recorder.takeWindow()[0]!.inputs).toEqual([
      { name: "a", count: 1, missing: 1, min: null, max: null, sum: 0, sumSquares: 0 },
    ]);
  });
});

describe("output summaries", () => {
  it("counts classifier labels (label or top-1) and summarises raw numeric outputs", () => {
    const recorder = new TelemetryRecorder();
    recorder.record({
      module: "cls",
      version: "1.0.0",
      latencyMs: 1,
      ok: true,
      predictions: [
        { label: "cat", score: 0.9 },
        { label: "dog", index: 1, score: 0.6 },
        { top: [{ label: "cat", index: 0, score: 0.7 }] },
      ],
    });
    recorder.record({
      module: "reg",
      version: "1.0.0",
      latencyMs: 1,
      ok: true,
      predictions: [{ y: [2] }, { y: 4 }, { y: "x" }],
    });
    recorder.record({ module: "plain", version: "1.0.0", latencyMs: 1, ok: true });
    const windows = recorder.takeWindow();
    expect(windows.find((w) => w.name === "cls")?.outputs).toEqual([
      { name: "label", count: 3, labels: { cat: 2, dog: 1 } },
    ]);
    expect(windows.find((w) => w.name === "reg")?.outputs).toEqual([
      { name: "y", count: 2, sum: 6, sumSquares: 20, min: 2, max: 4 },
    ]);
    expect(windows.find((w) => w.name === "plain")).not.toHaveProperty("outputs");
    for (const w of windows) expect(ModuleWindowSchema.safeParse(w).success).toBe(true);
  });
});

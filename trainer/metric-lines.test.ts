import { describe, expect, it } from "vitest";
import { MetricLineParser } from "./metric-lines.js";

describe("metric line protocol", () => {
  it("reads name=value pairs with an explicit step", () => {
    const parser = new MetricLineParser();
    expect(parser.parse("EDGEFLEET_METRIC loss=0.25 accuracy=9.5e-1 step=3")).toEqual({
      kind: "metrics",
      points: [
        { name: "loss", value: 0.25, step: 3 },
        { name: "accuracy", value: 0.95, step: 3 },
      ],
    });
  });

  it("counts steps per name when step is left out", () => {
    const parser = new MetricLineParser();
    parser.parse("EDGEFLEET_METRIC loss=1");
    parser.parse("EDGEFLEET_METRIC other=1");
    parser.parse("  EDGEFLEET_METRIC loss=0.5");
    expect(parser.parse("EDGEFLEET_METRIC loss=0.4")).toEqual({
      kind: "metrics",
      points: [{ name: "loss", value: 0.4, step: 2 }],
    });
  });

  it("reads progress with an optional phase", () => {
    const parser = new MetricLineParser();
    expect(parser.parse("EDGEFLEET_PROGRESS 3/10")).toEqual({
      kind: "progress",
      progress: { iteration: 3, of: 10 },
    });
    expect(parser.parse("EDGEFLEET_PROGRESS 10 / 10 fine tuning")).toEqual({
      kind: "progress",
      progress: { iteration: 10, of: 10, phase: "fine tuning" },
    });
  });

  it("names what is wrong with a malformed line", () => {
    const parser = new MetricLineParser();
    expect(parser.parse("EDGEFLEET_METRIC loss=abc")).toEqual({
      kind: "invalid",
      reason: '"loss" has no finite number value (abc)',
    });
    expect(parser.parse("EDGEFLEET_METRIC loss=nan").kind).toBe("invalid");
    expect(parser.parse("EDGEFLEET_METRIC loss=1 step=-1").kind).toBe("invalid");
    expect(parser.parse("EDGEFLEET_METRIC")).toEqual({ kind: "invalid", reason: "no name=value pair" });
    expect(parser.parse("EDGEFLEET_METRIC bad name=1").kind).toBe("invalid");
    expect(parser.parse("EDGEFLEET_PROGRESS 11/10").kind).toBe("invalid");
    expect(parser.parse("EDGEFLEET_PROGRESS soon").kind).toBe("invalid");
  });

  it("leaves every other line as text", () => {
    const parser = new MetricLineParser();
    expect(parser.parse("epoch 3 loss=0.2")).toEqual({ kind: "text" });
    expect(parser.parse("EDGEFLEET_METRICS loss=1")).toEqual({ kind: "text" });
  });
});

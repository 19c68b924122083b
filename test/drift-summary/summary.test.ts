import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../agent/drift/reservoir.js";
import { DriftSummariser } from "../../agent/drift/summariser.js";
import { histogramBin } from "../../drift-summary/baseline.js";
import { baselineIdOf, type Monitoring, MonitoringSchema } from "../../drift-summary/monitoring.js";
import {
  binMeans,
  columnRows,
  type DriftSummary,
  DriftSummarySchema,
  emptySummary,
  mergeSummaries,
  SummaryMismatchError,
} from "../../drift-summary/summary.js";
import type { Manifest } from "../../modules/manifest.js";
import { numericHistogram } from "../../training/baseline.js";
import { ModuleWindowSchema } from "../../wire/messages.js";

/** A two-column spec (numeric x, categorical c) on a [batch, 2] input and a [batch, 2] output. */
function spec(): Monitoring {
  const random = mulberry32(7);
  const h = numericHistogram(Float64Array.from({ length: 400 }, () => random() * 10 - 5));
  const body = {
    columns: [
      {
        name: "x",
        kind: "numeric" as const,
        source: { input: "in", index: 0 },
        edges: h.edges,
        reference: {
          counts: h.counts,
          means: h.means,
          missing: h.missing,
          below: 0,
          above: 0,
          count: h.count,
          mean: h.mean,
          std: h.std,
        },
      },
      {
        name: "c",
        kind: "categorical" as const,
        source: { input: "in", index: 1 },
        vocabulary: ["a", "b", "c"],
        reference: { counts: [1, 1, 1], unseen: 0, missing: 0, count: 3 },
      },
    ],
    outputs: [
      {
        name: "predicted",
        kind: "categorical" as const,
        source: { output: "out", argmax: true as const },
        vocabulary: ["no", "yes"],
        reference: { counts: [1, 1], unseen: 0, missing: 0, count: 2 },
      },
    ],
  };
  return MonitoringSchema.parse({ baselineId: baselineIdOf(body), ...body });
}

const manifest = {
  inputs: [{ name: "in", datatype: "FP64", shape: [-1, 2] }],
  outputs: [{ name: "out", datatype: "FP64", shape: [-1, 2] }],
  preprocessing: { kind: "none" },
} as unknown as Manifest;

/** Random rows: x mostly in range, some out of range and missing; c codes with unseen and missing. */
function rows(n: number, seed: number): { input: Float64Array; output: Float64Array } {
  const random = mulberry32(seed);
  const input = new Float64Array(n * 2);
  const output = new Float64Array(n * 2);
  for (let r = 0; r < n; r++) {
    const u = random();
    input[r * 2] = u < 0.05 ? Number.NaN : random() * 14 - 7;
    const v = random();
    input[r * 2 + 1] = v < 0.05 ? Number.NaN : v < 0.1 ? 7 : Math.floor(random() * 3);
    output[r * 2] = random();
    output[r * 2 + 1] = random();
  }
  return { input, output };
}

function summarise(
  s: Monitoring,
  data: { input: Float64Array; output: Float64Array },
  at: number,
): DriftSummary {
  const summariser = new DriftSummariser(s, manifest);
  const n = data.input.length / 2;
  const captured = summariser.capture({ in: { data: data.input, dims: [n, 2] } }, n);
  summariser.commit(captured, { out: { data: data.output, dims: [n, 2] } }, at);
  return summariser.take(at + 1000)!;
}

function slice(data: { input: Float64Array; output: Float64Array }, from: number, to: number) {
  return { input: data.input.slice(from * 2, to * 2), output: data.output.slice(from * 2, to * 2) };
}

describe("drift summary", () => {
  it("counts exactly what a direct computation with the baseline's histogramBin counts", () => {
    const s = spec();
    const data = rows(3000, 1);
    const summary = summarise(s, data, 0);
    expect(DriftSummarySchema.parse(summary)).toEqual(summary);
    const x = s.columns[0]!;
    if (x.kind !== "numeric") throw new Error("x is numeric");
    const counts = new Array<number>(x.edges.length - 1).fill(0);
    let below = 0;
    let above = 0;
    let missing = 0;
    let unseen = 0;
    let cMissing = 0;
    const cCounts = [0, 0, 0];
    const predicted = [0, 0];
    for (let r = 0; r < 3000; r++) {
      const v = data.input[r * 2]!;
      if (Number.isNaN(v)) missing++;
      else {
        const b = histogramBin(x.edges, v);
        if (b < 0) below++;
        else if (b >= counts.length) above++;
        else counts[b]!++;
      }
      const c = data.input[r * 2 + 1]!;
      if (Number.isNaN(c)) cMissing++;
      else if (c > 2) unseen++;
      else cCounts[c]!++;
      predicted[data.output[r * 2 + 1]! > data.output[r * 2]! ? 1 : 0]!++;
    }
    expect(summary.rows).toBe(3000);
    expect(summary.columns.x).toMatchObject({ counts, below, above, missing });
    expect(summary.columns.c).toEqual({ kind: "categorical", counts: cCounts, unseen, missing: cMissing });
    expect(summary.outputs.predicted).toMatchObject({ counts: predicted, unseen: 0, missing: 0 });
    for (const column of [...Object.values(summary.columns), ...Object.values(summary.outputs)]) {
      expect(columnRows(column)).toBe(3000);
    }
  });

  it("gives bin means within 1/32 of the bin width of the exact means", () => {
    const s = spec();
    const data = rows(2000, 2);
    const summary = summarise(s, data, 0);
    const x = s.columns[0]!;
    if (x.kind !== "numeric" || summary.columns.x?.kind !== "numeric") throw new Error("numeric");
    const sums = new Array<number>(x.edges.length - 1).fill(0);
    const counts = new Array<number>(x.edges.length - 1).fill(0);
    for (let r = 0; r < 2000; r++) {
      const v = data.input[r * 2]!;
      const b = Number.isNaN(v) ? -1 : histogramBin(x.edges, v);
      if (b >= 0 && b < counts.length) {
        sums[b]! += v;
        counts[b]!++;
      }
    }
    const means = binMeans(x, summary.columns.x);
    means.forEach((mean, b) => {
      const width = x.edges[b + 1]! - x.edges[b]!;
      expect(Math.abs(mean! - sums[b]! / counts[b]!)).toBeLessThanOrEqual(width / 32 + 1e-12);
    });
  });

  it("merges exactly, in any split and any order (property test over seeded random splits)", () => {
    const s = spec();
    const data = rows(600, 3);
    const whole = summarise(s, data, 0);
    const random = mulberry32(11);
    for (let trial = 0; trial < 40; trial++) {
      // Random cut points → parts; each part summarised on its own, then merged in a random order and grouping.
      const cuts = [
        0,
        ...Array.from({ length: 1 + Math.floor(random() * 6) }, () => Math.floor(random() * 600)),
        600,
      ].sort((a, b) => a - b);
      const parts = cuts.slice(1).map((to, i) => summarise(s, slice(data, cuts[i]!, to), i * 1000));
      const nonEmpty = parts.map((p, i) => p ?? emptySummary(s, new Date(i * 1000)));
      for (let i = nonEmpty.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [nonEmpty[i], nonEmpty[j]] = [nonEmpty[j]!, nonEmpty[i]!];
      }
      while (nonEmpty.length > 1) {
        const i = Math.floor(random() * (nonEmpty.length - 1));
        const left = random() < 0.5;
        const merged = left
          ? mergeSummaries(nonEmpty[i]!, nonEmpty[i + 1]!)
          : mergeSummaries(nonEmpty[i + 1]!, nonEmpty[i]!);
        nonEmpty.splice(i, 2, merged);
      }
      const merged = nonEmpty[0]!;
      expect(merged.rows).toBe(600);
      const strip = (summary: DriftSummary) =>
        JSON.parse(
          JSON.stringify(summary, (k, v) => (k.endsWith("Sum") || k.startsWith("window") ? undefined : v)),
        );
      expect(strip(merged)).toEqual(strip(whole));
      const [a, b] = [merged.columns.x, whole.columns.x];
      if (a?.kind !== "numeric" || b?.kind !== "numeric") throw new Error("numeric");
      // Out-of-range sums travel with OUT_OF_RANGE_DIGITS (3) significant digits.
      expect(Math.abs(a.belowSum - b.belowSum)).toBeLessThanOrEqual(1e-2 * Math.abs(b.belowSum));
      expect(Math.abs(a.aboveSum - b.aboveSum)).toBeLessThanOrEqual(1e-2 * Math.abs(b.aboveSum));
      expect(merged.windowStart).toBe(new Date(0).toISOString());
    }
  });

  it("is commutative and leaves its inputs unchanged", () => {
    const s = spec();
    const a = summarise(s, rows(50, 4), 5000);
    const b = summarise(s, rows(70, 5), 0);
    const before = JSON.stringify([a, b]);
    expect(mergeSummaries(a, b)).toEqual(mergeSummaries(b, a));
    expect(JSON.stringify([a, b])).toBe(before);
    expect(mergeSummaries(a, b)).toMatchObject({
      windowStart: b.windowStart,
      windowEnd: a.windowEnd,
      rows: 120,
    });
  });

  it("refuses summaries of different baselines or columns", () => {
    const s = spec();
    const a = summarise(s, rows(10, 6), 0);
    expect(() => mergeSummaries(a, { ...a, baselineId: "0".repeat(64) })).toThrow(SummaryMismatchError);
    const { c: _c, ...fewer } = a.columns;
    expect(() => mergeSummaries(a, { ...a, columns: fewer })).toThrow(/columns differ/);
    const shorter = {
      ...a,
      columns: { ...a.columns, c: { kind: "categorical" as const, counts: [1], unseen: 0, missing: 0 } },
    };
    expect(() => mergeSummaries(a, shorter)).toThrow(/columns.c/);
  });

  it("rides on a telemetry module window; windows without it (older agents) still parse", () => {
    const s = spec();
    const drift = summarise(s, rows(30, 8), 0);
    const base = {
      name: "m",
      version: "1.0.0",
      requests: 1,
      errors: 0,
      latencyBucketsMs: [1],
      latencyCounts: [1, 0],
      latencySumMs: 1,
      inputs: [],
    };
    expect(ModuleWindowSchema.parse(base)).toEqual(base);
    expect(ModuleWindowSchema.parse({ ...base, drift }).drift).toEqual(drift);
    expect(ModuleWindowSchema.safeParse({ ...base, drift: { ...drift, rows: -1 } }).success).toBe(false);
  });
});

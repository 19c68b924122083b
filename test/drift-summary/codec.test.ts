import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../agent/drift/reservoir.js";
import { DriftSummariser } from "../../agent/drift/summariser.js";
import {
  BitReader,
  BitStreamError,
  BitWriter,
  readFloat,
  writeFloat,
} from "../../drift-summary/bit-stream.js";
import {
  type CodecSpec,
  decodeSummary,
  encodeSummary,
  PackedDriftSummarySchema,
  PackedSummaryError,
} from "../../drift-summary/codec.js";
import type { MonitoredColumn } from "../../drift-summary/monitoring.js";
import {
  type ColumnSummary,
  type DriftSummary,
  DriftSummarySchema,
  OFFSET_STEPS,
} from "../../drift-summary/summary.js";
import type { Manifest } from "../../modules/manifest.js";
import { numericHistogram } from "../../training/baseline.js";

type Random = () => number;
const int = (random: Random, n: number) => Math.floor(random() * n);

/** A count of a random magnitude: zero, small, window-sized or huge. */
function anyCount(random: Random): number {
  const scale = [0, 5, 200, 100_000, 2 ** 40][int(random, 5)]!;
  return int(random, scale + 1);
}

function anyFloat(random: Random): number {
  switch (int(random, 6)) {
    case 0:
      return 0;
    case 1:
      return -0;
    case 2:
      return Number((random() * 2000 - 1000).toPrecision(4));
    case 3:
      return (random() - 0.5) * 10 ** int(random, 40);
    case 4:
      return -Number.MAX_VALUE * random();
    default:
      return Number.MIN_VALUE * int(random, 5);
  }
}

function anyColumn(random: Random, name: string): MonitoredColumn {
  if (random() < 0.3) {
    const size = int(random, 8);
    return {
      name,
      kind: "categorical",
      source: { input: "in", index: 0 },
      vocabulary: Array.from({ length: size }, (_, i) => `v${i}`),
      reference: {
        counts: Array.from({ length: size }, () => anyCount(random)),
        unseen: anyCount(random),
        missing: anyCount(random),
        count: 0,
      },
    };
  }
  const edgeCount = [0, 1, 2, 3, 5, 21][int(random, 6)]!;
  let at = random() * 10 - 5;
  const edges = Array.from({ length: edgeCount }, () => (at += random() * 3 + 1e-3));
  const bins = edgeCount === 0 ? 0 : Math.max(edgeCount - 1, 1);
  return {
    name,
    kind: "numeric",
    source: { input: "in", index: 0 },
    edges,
    reference: {
      counts: Array.from({ length: bins }, () => anyCount(random)),
      ...(random() < 0.5
        ? { means: Array.from({ length: bins }, (_, b) => (random() < 0.2 ? null : edges[b]! + random())) }
        : {}),
      missing: anyCount(random),
      below: anyCount(random),
      above: anyCount(random),
      count: 0,
      mean: null,
      std: null,
    },
  };
}

function anySpec(random: Random): CodecSpec {
  return {
    baselineId: Array.from({ length: 64 }, () => int(random, 16).toString(16)).join(""),
    columns: Array.from({ length: int(random, 5) }, (_, i) => anyColumn(random, `c${i}`)),
    outputs: Array.from({ length: int(random, 3) }, (_, i) => anyColumn(random, `o${i}`)),
  };
}

function anyColumnSummary(random: Random, column: MonitoredColumn): ColumnSummary {
  if (column.kind === "categorical") {
    return {
      kind: "categorical",
      counts: column.vocabulary.map(() => anyCount(random)),
      unseen: anyCount(random),
      missing: anyCount(random),
    };
  }
  const bins = column.reference.counts.length;
  const counts = Array.from({ length: bins }, () => anyCount(random));
  return {
    kind: "numeric",
    counts,
    below: anyCount(random),
    above: anyCount(random),
    missing: anyCount(random),
    offsets: counts.map((c) => int(random, OFFSET_STEPS * c + 1)),
    belowSum: anyFloat(random),
    aboveSum: anyFloat(random),
  };
}

const TIMES = ["2026-01-01T00:00:00.000Z", "2026-01-01T02:00:00+02:00", "1999-12-31T23:59:59.5Z"];

function anySummary(random: Random, spec: CodecSpec): DriftSummary {
  const canonical = random() < 0.7;
  const end = Date.UTC(2026, 0, 1) + int(random, 1e9);
  return {
    baselineId: spec.baselineId,
    rows: anyCount(random),
    windowStart: canonical ? new Date(end - int(random, 1e7)).toISOString() : TIMES[int(random, 3)]!,
    windowEnd: canonical ? new Date(end).toISOString() : TIMES[int(random, 3)]!,
    columns: Object.fromEntries(spec.columns.map((c) => [c.name, anyColumnSummary(random, c)])),
    outputs: Object.fromEntries(spec.outputs.map((c) => [c.name, anyColumnSummary(random, c)])),
  };
}

/** A 20-feature spec on N(0,1) references and a summariser window of n shifted rows. */
function realWindow(n: number): { spec: CodecSpec; summary: DriftSummary } {
  const random = mulberry32(3);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const columns = Array.from({ length: 20 }, (_, index): MonitoredColumn => {
    const h = numericHistogram(Float64Array.from({ length: 5000 }, normal));
    return {
      name: `f${index}`,
      kind: "numeric",
      source: { input: "in", index },
      edges: h.edges,
      reference: { ...h, below: 0, above: 0 },
    };
  });
  const spec: CodecSpec = { baselineId: "a".repeat(64), columns, outputs: [] };
  const manifest = {
    inputs: [{ name: "in", datatype: "FP32", shape: [-1, 20] }],
    outputs: [],
    preprocessing: { kind: "none" },
  } as unknown as Manifest;
  const summariser = new DriftSummariser({ ...spec, minRows: 1 }, manifest);
  const data = Float32Array.from({ length: n * 20 }, () => normal() * 1.2 + 0.2);
  summariser.commit(summariser.capture({ in: { data, dims: [n, 20] } }, n), {}, 0);
  return { spec, summary: summariser.take(60_000)! };
}

describe("packed drift summaries", () => {
  it("decode to exactly the summary encoded (random specs and summaries)", () => {
    const random = mulberry32(11);
    for (let i = 0; i < 400; i++) {
      const spec = anySpec(random);
      const summary = anySummary(random, spec);
      const packed = encodeSummary(summary, spec);
      expect(PackedDriftSummarySchema.parse(packed)).toEqual(packed);
      const decoded = decodeSummary(JSON.parse(JSON.stringify(packed)), spec);
      expect(decoded).toEqual(summary);
      // toEqual tells −0 from 0; the sums must come back bit for bit.
      for (const group of ["columns", "outputs"] as const) {
        for (const [name, column] of Object.entries(summary[group])) {
          if (column.kind !== "numeric") continue;
          const back = decoded[group][name] as typeof column;
          expect(Object.is(back.belowSum, column.belowSum)).toBe(true);
          expect(Object.is(back.aboveSum, column.aboveSum)).toBe(true);
        }
      }
    }
  });

  it("round-trips a summariser window, gzipped well under its JSON", () => {
    for (const n of [1, 1000, 100_000]) {
      const { spec, summary } = realWindow(n);
      const packed = encodeSummary(summary, spec);
      expect(decodeSummary(packed, spec)).toEqual(summary);
      const gz = (value: unknown) => gzipSync(JSON.stringify(value)).length;
      expect(gz(packed)).toBeLessThan(gz(summary) * 0.7);
    }
  });

  it("writes floats exactly, −0 and the extremes included", () => {
    const values = [0, -0, 1, -1, 0.1, 123.4, -6.951e-7, 1e300, -Number.MAX_VALUE, Number.MIN_VALUE, Math.PI];
    const w = new BitWriter();
    for (const x of values) writeFloat(w, x);
    const r = new BitReader(w.finish());
    for (const x of values) expect(Object.is(readFloat(r), x)).toBe(true);
    expect(() => writeFloat(new BitWriter(), Number.NaN)).toThrow(RangeError);
  });

  it("reads back every field at every bit offset, and refuses every truncation of it", () => {
    const random = mulberry32(5);
    type Field = ["bits", number, number] | ["rice", number, number] | ["expGolomb", number];
    const fields: Field[] = [];
    for (let i = 0; i < 3000; i++) {
      const size = [1, 3, 20, 40, 53][int(random, 5)]!;
      const v = Math.min(int(random, 2 ** size), Number.MAX_SAFE_INTEGER - 1);
      const kind = int(random, 3);
      if (kind === 0) fields.push(["bits", v, size]);
      else if (kind === 1) fields.push(["rice", int(random, 2 ** int(random, 30)), int(random, 41)]);
      else fields.push(["expGolomb", v]);
    }
    const w = new BitWriter();
    for (const f of fields) {
      if (f[0] === "bits") w.bits(f[1], f[2]);
      else if (f[0] === "rice") w.rice(f[1], f[2]);
      else w.expGolomb(f[1]);
    }
    const bytes = w.finish();
    const readAll = (b: Uint8Array) => {
      const r = new BitReader(b);
      const out = fields.map((f) =>
        f[0] === "bits" ? r.bits(f[2]) : f[0] === "rice" ? r.rice(f[2]) : r.expGolomb(),
      );
      r.end();
      return out;
    };
    expect(readAll(bytes)).toEqual(fields.map((f) => f[1]));
    for (let cut = 0; cut < bytes.length; cut += 1 + int(random, 40)) {
      expect(() => readAll(bytes.subarray(0, cut))).toThrow(BitStreamError);
    }
  });

  it("refuses to encode a summary that does not fit the spec", () => {
    const { spec, summary } = realWindow(50);
    const { f0: _dropped, ...withoutF0 } = summary.columns;
    const f0 = summary.columns.f0 as Extract<ColumnSummary, { kind: "numeric" }>;
    const cases: [string, DriftSummary, RegExp][] = [
      ["other baseline", { ...summary, baselineId: "b".repeat(64) }, /baseline/],
      ["missing column", { ...summary, columns: withoutF0 }, /not the spec's/],
      ["undefined column", { ...summary, columns: { ...withoutF0, f0: undefined! } }, /f0: no summary/],
      ["extra column", { ...summary, columns: { ...summary.columns, zz: f0 } }, /not the spec's/],
      ["short counts", { ...summary, columns: { ...summary.columns, f0: { ...f0, counts: [1] } } }, /bins/],
      [
        "offset above the bin's count",
        {
          ...summary,
          columns: {
            ...summary.columns,
            f0: { ...f0, offsets: f0.offsets.map((o, b) => o + (b === 3 ? OFFSET_STEPS * 1000 : 0)) },
          },
        },
        /offset/,
      ],
      [
        "categorical for numeric",
        {
          ...summary,
          columns: { ...summary.columns, f0: { kind: "categorical", counts: [], unseen: 0, missing: 0 } },
        },
        /categorical summary of a numeric column/,
      ],
    ];
    for (const [, bad, message] of cases) {
      expect(() => encodeSummary(bad, spec)).toThrow(PackedSummaryError);
      expect(() => encodeSummary(bad, spec)).toThrow(message);
    }
  });

  it("refuses malformed packed data with a PackedSummaryError, never a partial summary", () => {
    const { spec, summary } = realWindow(2000);
    const packed = encodeSummary(summary, spec);
    const bytes = Buffer.from(packed.packed, "base64");
    const withBytes = (b: Uint8Array) => ({ ...packed, packed: Buffer.from(b).toString("base64") });
    const refused = (value: unknown, message: RegExp) => {
      expect(() => decodeSummary(value as typeof packed, spec)).toThrow(PackedSummaryError);
      expect(() => decodeSummary(value as typeof packed, spec)).toThrow(message);
    };
    refused({ ...packed, packed: "not base64!" }, /base64/);
    refused({ ...packed, baselineId: "c".repeat(64) }, /baseline/);
    refused({ baselineId: packed.baselineId }, /packed/);
    refused(withBytes(Uint8Array.from([9, ...bytes.subarray(1)])), /unknown packed format 9/);
    refused(withBytes(Buffer.concat([bytes, Buffer.from([0])])), /trailing data/);
    refused(withBytes(Buffer.alloc(0)), /ends early/);
    for (let cut = 1; cut < bytes.length; cut += 7)
      refused(withBytes(bytes.subarray(0, cut)), /packed summary/);
    // Random damage: refused, or (when it happens to form a stream) a valid summary of the same spec.
    const random = mulberry32(9);
    for (let i = 0; i < 300; i++) {
      const damaged = Uint8Array.from(bytes);
      const at = 1 + int(random, damaged.length - 1);
      damaged[at] = damaged[at]! ^ (1 << int(random, 8));
      try {
        const decoded = decodeSummary(withBytes(damaged), spec);
        expect(Object.keys(decoded.columns)).toEqual(spec.columns.map((c) => c.name));
      } catch (error) {
        expect(error).toBeInstanceOf(PackedSummaryError);
      }
    }
  });

  it("refuses what DriftSummarySchema refuses, without running it (times, counts beyond 2^53)", () => {
    // One categorical column of one entry and no reference: every predicted count is 0 or rows − known.
    const spec: CodecSpec = {
      baselineId: "d".repeat(64),
      columns: [
        {
          name: "c",
          kind: "categorical",
          source: { input: "in", index: 0 },
          vocabulary: ["x"],
          reference: { counts: [0], unseen: 0, missing: 0, count: 0 },
        },
      ],
      outputs: [],
    };
    const zz = (x: number) => (x >= 0 ? 2 * x : -2 * x - 1);
    /** A stream decodeSummary reads to the end: rows, window times, then missing/unseen/total residuals. */
    const stream = (rows: number, times: (w: BitWriter) => void, residuals: number[]) => {
      const w = new BitWriter();
      w.bits(1, 8);
      w.expGolomb(rows);
      times(w);
      for (const u of residuals) w.expGolomb(u);
      return { baselineId: spec.baselineId, packed: Buffer.from(w.finish()).toString("base64") };
    };
    const msTimes = (endMs: number) => (w: BitWriter) => {
      w.bit(0);
      w.bits(zz(endMs), 50);
      w.expGolomb(0);
    };
    const textTimes = (start: string, end: string) => (w: BitWriter) => {
      w.bit(1);
      for (const t of [start, end]) {
        w.expGolomb(t.length);
        for (const ch of t) w.bits(ch.charCodeAt(0), 7);
      }
    };
    const ok = "2026-01-01T00:00:00.000Z";
    const good = stream(5, msTimes(Date.parse(ok)), [0, 0, 0]);
    expect(decodeSummary(good, spec)).toMatchObject({
      rows: 5,
      windowEnd: ok,
      columns: { c: { counts: [5] } },
    });
    expect(
      decodeSummary(stream(5, textTimes("2026-01-01T02:00:00+02:00", ok), [0, 0, 0]), spec).windowStart,
    ).toBe("2026-01-01T02:00:00+02:00");

    const cases: [string, ReturnType<typeof stream>, RegExp][] = [
      ["a window in year 10000", stream(5, msTimes(Date.UTC(10000, 0, 1)), [0, 0, 0]), /years 0000…9999/],
      ["a window before year 0", stream(5, msTimes(Date.UTC(-1, 0, 1)), [0, 0, 0]), /years 0000…9999/],
      ["a window time that is not ISO", stream(5, textTimes("yesterday", ok), [0, 0, 0]), /not an ISO time/],
      ["an ISO time without offset", stream(5, textTimes("2026-01-01T00:00:00", ok), [0, 0, 0]), /ISO/],
      // rows + 2^52 − 2^52 … : the vocabulary total lands beyond 2^53, no longer a safe integer.
      ["a count beyond 2^53", stream(2 ** 53 - 2, msTimes(0), [0, 0, zz(2 ** 52 - 2)]), /vocabulary total/],
      ["missing beyond the rows", stream(5, msTimes(0), [zz(9), 0, 0]), /vocabulary total decodes to -4/],
    ];
    for (const [name, packed, message] of cases) {
      expect(() => decodeSummary(packed, spec), name).toThrow(PackedSummaryError);
      expect(() => decodeSummary(packed, spec), name).toThrow(message);
    }
    // What these streams would have decoded to is what the schema refuses (the check they replace).
    const decodedAs = (patch: Partial<DriftSummary>) => ({
      baselineId: spec.baselineId,
      rows: 5,
      windowStart: ok,
      windowEnd: ok,
      columns: { c: { kind: "categorical", counts: [5], unseen: 0, missing: 0 } },
      outputs: {},
      ...patch,
    });
    for (const patch of [
      { windowEnd: new Date(Date.UTC(10000, 0, 1)).toISOString() },
      { windowEnd: new Date(Date.UTC(-1, 0, 1)).toISOString() },
      { windowStart: "yesterday" },
      { windowStart: "2026-01-01T00:00:00" },
      {
        columns: { c: { kind: "categorical" as const, counts: [2 ** 53 + 2 ** 52], unseen: 0, missing: 0 } },
      },
    ]) {
      expect(DriftSummarySchema.safeParse(decodedAs(patch)).success).toBe(false);
    }
  });
});

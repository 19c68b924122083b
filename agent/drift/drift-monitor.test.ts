import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { decodeSummary } from "../../drift-summary/codec.js";
import { baselineIdOf } from "../../drift-summary/monitoring.js";
import type { DriftSummary } from "../../drift-summary/summary.js";
import { type Manifest, parseManifest } from "../../modules/manifest.js";
import type { CollectSamplesCommand } from "../../wire/commands.js";
import type { ModuleWindow } from "../../wire/messages.js";
import { PROTOCOL_VERSION } from "../../wire/messages.js";
import { DriftMonitor, HELD_FILE, HELD_MAX_AGE_MS } from "./drift-monitor.js";
import { mulberry32, Reservoir } from "./reservoir.js";

function manifest(
  options: { minRows?: number; samples?: { allowed: boolean; maxPerWindow?: number } } = {},
): Manifest {
  const body = {
    columns: [
      {
        name: "x",
        kind: "numeric" as const,
        source: { input: "in", index: 0 },
        edges: [0, 10, 20],
        reference: { counts: [1, 1], missing: 0, below: 0, above: 0, count: 2, mean: 10, std: 5 },
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
  return parseManifest({
    schemaVersion: 1,
    name: "m",
    version: "1.0.0",
    model: { file: "model.onnx", sha256: "a".repeat(64), size: 1 },
    inputs: [{ name: "in", datatype: "FP64", shape: [-1, 1] }],
    outputs: [{ name: "out", datatype: "FP64", shape: [-1, 2] }],
    createdAt: new Date(0).toISOString(),
    monitoring: {
      baselineId: baselineIdOf(body),
      ...body,
      minRows: options.minRows ?? 10,
      ...(options.samples ? { samples: options.samples } : {}),
    },
  });
}

/** The summary a window entry carries: packed, as the agent sends it (decoded on the spec). */
function driftOf(entry: ModuleWindow): DriftSummary | undefined {
  expect(entry.drift).toBeUndefined();
  return entry.driftPacked && decodeSummary(entry.driftPacked, manifest().monitoring!);
}

const served = (m: Manifest) => ({ name: m.name, version: m.version, manifest: m });

/** Scores `n` rows with x = start, start+1, ... through the monitor. */
function score(
  monitor: DriftMonitor,
  module: object & ReturnType<typeof served>,
  n: number,
  start = 0,
  ids?: string[],
) {
  const drift = monitor.forModule(module)!;
  const input = Float64Array.from({ length: n }, (_, i) => start + i);
  const out = Float64Array.from({ length: n * 2 }, (_, i) => (i % 2 === 0 ? 0.2 : 0.8));
  const captured = drift.capture({ in: { data: input, dims: [n, 1] } }, n);
  drift.commit(captured, { out: { data: out, dims: [n, 2] } }, ids);
}

function window(): ModuleWindow[] {
  return [
    {
      name: "m",
      version: "1.0.0",
      requests: 1,
      errors: 0,
      latencyBucketsMs: [],
      latencyCounts: [],
      latencySumMs: 0,
      inputs: [],
    },
  ];
}

const command = (overrides: Partial<CollectSamplesCommand> = {}): CollectSamplesCommand => ({
  protocol: PROTOCOL_VERSION,
  requestId: "r1",
  module: "m",
  maxPerWindow: 3,
  windows: 2,
  ...overrides,
});

let dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

describe("drift monitor", () => {
  it("ignores modules without monitoring", () => {
    const m = manifest();
    const { monitoring: _, ...plain } = m;
    expect(new DriftMonitor().forModule(served(plain as Manifest))).toBeUndefined();
  });

  it("holds windows below minRows back and sends them merged with the next; nothing is lost", () => {
    const monitor = new DriftMonitor();
    const module = served(manifest({ minRows: 10 }));
    score(monitor, module, 4);
    const first = monitor.attach(window());
    expect(driftOf(first[0]!)).toBeUndefined();
    score(monitor, module, 3, 4);
    // A window without an entry for the version holds too (telemetry skipped, or counted later).
    expect(monitor.attach([])).toEqual([]);
    score(monitor, module, 5, 7);
    const third = monitor.attach(window());
    expect(driftOf(third[0]!)?.rows).toBe(12);
    const x = driftOf(third[0]!)!.columns.x!;
    expect(x).toMatchObject({ counts: [10, 2], below: 0, above: 0, missing: 0 });
    expect(driftOf(third[0]!)!.outputs.predicted).toMatchObject({ counts: [0, 12] });
    expect(driftOf(monitor.attach(window())[0]!)).toBeUndefined();
  });

  it("keeps held summaries on disk across a restart and releases them with the next rows", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "drift-held-"));
    dirs.push(dataDir);
    const m = manifest({ minRows: 10 });
    const before = new DriftMonitor({ dataDir });
    score(before, served(m), 6);
    before.attach(window());
    await before.flush();
    expect(JSON.parse(await readFile(join(dataDir, HELD_FILE), "utf8")).held[0].summary.rows).toBe(6);

    const after = new DriftMonitor({ dataDir });
    await after.load();
    score(after, served(m), 4, 6);
    const released = after.attach(window());
    expect(driftOf(released[0]!)?.rows).toBe(10);
    await after.flush();
    await expect(readFile(join(dataDir, HELD_FILE))).rejects.toThrow(/ENOENT/);
  });

  it("keeps a running sample request across a restart, and forgets it once its windows are sent", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "drift-held-"));
    dirs.push(dataDir);
    const module = served(manifest({ minRows: 5, samples: { allowed: true, maxPerWindow: 2 } }));
    const before = new DriftMonitor({ dataDir, seed: () => 1 });
    before.collectSamples(command({ windows: 2 }), module);
    score(before, module, 10);
    expect(before.attach(window())[0]!.samples?.rows).toHaveLength(2);
    await before.flush();

    // A crash here: one of the two windows asked for is still to come, and the same command
    // redelivered (QoS 1) is not taken as a new request.
    const after = new DriftMonitor({ dataDir, seed: () => 1 });
    await after.load();
    expect(after.collectSamples(command({ windows: 2 }), module).message).toBe("already accepted");
    score(after, module, 10, 100);
    expect(after.attach(window())[0]!.samples?.rows).toHaveLength(2);
    score(after, module, 10, 200);
    expect(after.attach(window())[0]!.samples).toBeUndefined();
    await after.flush();
    await expect(readFile(join(dataDir, HELD_FILE))).rejects.toThrow(/ENOENT/);
  });

  it("drops a held summary once its first row is older than HELD_MAX_AGE_MS, running or restored", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "drift-held-"));
    dirs.push(dataDir);
    const m = served(manifest({ minRows: 10 }));
    let now = Date.now();
    const before = new DriftMonitor({ dataDir, now: () => now });
    score(before, m, 6);
    before.attach(window());
    await before.flush();
    // Restored a week and a bit later: the 6 rows never reached minRows and are not sent.
    now += HELD_MAX_AGE_MS + 60_000;
    const after = new DriftMonitor({ dataDir, now: () => now });
    await after.load();
    score(after, m, 10);
    expect(driftOf(after.attach(window())[0]!)?.rows).toBe(10);
    // Running: 6 rows held, then a week without reaching minRows.
    score(after, m, 6);
    after.attach(window());
    now += HELD_MAX_AGE_MS + 60_000;
    score(after, m, 6);
    expect(after.attach(window())[0]!.driftPacked).toBeUndefined();
    await after.flush();
    const file = JSON.parse(await readFile(join(dataDir, HELD_FILE), "utf8"));
    expect(file.held.map((h: { summary: DriftSummary }) => h.summary.rows)).toEqual([6]);
  });

  it("drops a held summary whose bins changed (another baselineId) and ignores a corrupt file", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "drift-held-"));
    dirs.push(dataDir);
    const before = new DriftMonitor({ dataDir });
    score(before, served(manifest({ minRows: 10 })), 6);
    before.attach(window());
    await before.flush();
    const text = (await readFile(join(dataDir, HELD_FILE), "utf8")).replace(
      /"baselineId":"[a-f0-9]+"/,
      `"baselineId":"${"c".repeat(64)}"`,
    );
    await (await import("node:fs/promises")).writeFile(join(dataDir, HELD_FILE), text);
    const after = new DriftMonitor({ dataDir });
    await after.load();
    score(after, served(manifest({ minRows: 10 })), 10);
    expect(driftOf(after.attach(window())[0]!)?.rows).toBe(10);

    await (await import("node:fs/promises")).writeFile(join(dataDir, HELD_FILE), "{not json");
    const corrupt = new DriftMonitor({ dataDir });
    await expect(corrupt.load()).resolves.toBeUndefined();
  });

  it("refuses collect-samples unless the module serves and its manifest allows samples", () => {
    const monitor = new DriftMonitor();
    const plain = served(manifest());
    expect(monitor.collectSamples(command(), undefined)).toMatchObject({ ok: false, message: /not served/ });
    expect(monitor.collectSamples(command(), plain)).toMatchObject({ ok: false, message: /does not allow/ });
    const allowed = served(manifest({ samples: { allowed: true, maxPerWindow: 2 } }));
    expect(monitor.collectSamples(command({ version: "2.0.0" }), allowed)).toMatchObject({
      ok: false,
      message: /serves 1.0.0/,
    });
    // Refusals arm nothing.
    score(monitor, allowed, 20);
    expect(monitor.attach(window())[0]!.samples).toBeUndefined();
  });

  it("collects a capped reservoir for the asked number of windows, with feedback joined", () => {
    const monitor = new DriftMonitor({ seed: () => 42 });
    const module = served(manifest({ minRows: 5, samples: { allowed: true, maxPerWindow: 2 } }));
    expect(monitor.collectSamples(command({ maxPerWindow: 3, windows: 2 }), module)).toMatchObject({
      ok: true,
      details: { maxPerWindow: 2, windows: 2 },
    });
    const ids = Array.from({ length: 30 }, (_, i) => `id-${i}`);
    score(monitor, module, 30, 0, ids);
    // Feedback for a row still in the reservoir travels on the row.
    for (const id of ids.slice(0, 15)) monitor.feedback(id, { label: `L${id}` });
    const w1 = monitor.attach(window())[0]!;
    expect(w1.samples?.rows).toHaveLength(2);
    const sampled = w1.samples!.rows.map((r) => r.id);
    expect(new Set(sampled).size).toBe(2);
    for (const row of w1.samples!.rows) {
      const i = Number(row.id.slice(3));
      expect(row.inputs).toEqual({ x: i });
      expect(row.outputs).toEqual({ predicted: "yes" });
      if (i < 15) expect(row.label).toBe(`L${row.id}`);
      else expect(row.label).toBeUndefined();
    }
    // Feedback after the row was sent goes with the next window.
    monitor.feedback(sampled[0]!, { label: "late" });
    monitor.feedback("id-not-sampled", { label: "no" });
    score(
      monitor,
      module,
      10,
      0,
      ids.slice(0, 10).map((id) => `${id}-b`),
    );
    monitor.feedback("id-0-b", { value: 3 });
    const w2 = monitor.attach(window())[0]!;
    expect(w2.samples?.labels).toEqual([{ id: sampled[0], label: "late" }]);
    expect(w2.samples?.rows).toHaveLength(2);
    const labelled = w2.samples!.rows.find((r) => r.id === "id-0-b");
    if (labelled) expect(labelled.value).toBe(3);
    // Two windows asked for: the third has none.
    score(monitor, module, 10);
    expect(monitor.attach(window())[0]!.samples).toBeUndefined();
  });

  it("does not use up an asked window on a release whose rows were all scored before the command", () => {
    const monitor = new DriftMonitor({ seed: () => 7 });
    const module = served(manifest({ minRows: 5, samples: { allowed: true, maxPerWindow: 2 } }));
    // The rows reach the device before the command does (the hub's publish and the scoring race).
    score(monitor, module, 10);
    monitor.collectSamples(command({ windows: 1 }), module);
    const early = monitor.attach(window())[0]!;
    expect(driftOf(early)?.rows).toBe(10);
    expect(early.samples).toBeUndefined();
    score(monitor, module, 10, 100);
    expect(monitor.attach(window())[0]!.samples?.rows).toHaveLength(2);
    score(monitor, module, 10, 200);
    expect(monitor.attach(window())[0]!.samples).toBeUndefined();
  });

  it("acts on a command once per requestId", () => {
    const monitor = new DriftMonitor();
    const module = served(manifest({ samples: { allowed: true } }));
    expect(monitor.collectSamples(command(), module).message).toBe("collecting");
    expect(monitor.collectSamples(command(), module)).toMatchObject({
      ok: true,
      message: "already accepted",
    });
  });
});

describe("reservoir (Algorithm R)", () => {
  it("keeps every item while under capacity", () => {
    const r = new Reservoir<number>(5, 1);
    for (let i = 0; i < 5; i++) r.put(r.slot(), i);
    expect(r.items).toEqual([0, 1, 2, 3, 4]);
  });

  it("keeps each of n items with probability k/n (4000 seeded draws, within 5 sigma)", () => {
    const n = 20;
    const k = 4;
    const trials = 4000;
    const kept = new Array<number>(n).fill(0);
    const seeds = mulberry32(9);
    for (let t = 0; t < trials; t++) {
      const r = new Reservoir<number>(k, (seeds() * 2 ** 32) >>> 0);
      for (let i = 0; i < n; i++) {
        const slot = r.slot();
        if (slot >= 0) r.put(slot, i);
      }
      for (const i of r.items) kept[i]!++;
    }
    const p = k / n;
    const sigma = Math.sqrt(trials * p * (1 - p));
    for (const c of kept) expect(Math.abs(c - trials * p)).toBeLessThan(5 * sigma);
  });

  it("draws the same sample from the same seed", () => {
    const draw = () => {
      const r = new Reservoir<number>(3, 123);
      for (let i = 0; i < 100; i++) {
        const slot = r.slot();
        if (slot >= 0) r.put(slot, i);
      }
      return [...r.items];
    };
    expect(draw()).toEqual(draw());
  });
});

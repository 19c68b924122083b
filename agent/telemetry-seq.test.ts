/** Telemetry seq numbers keep increasing across restarts with one state write per block. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../lib/log.js";
import { StateStore } from "./state-store.js";
import { TelemetrySeq } from "./telemetry-seq.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgefleet-seq-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("TelemetrySeq", () => {
  it("never repeats a number across restarts, even when a run uses more than a block", async () => {
    const used: number[] = [];
    for (let run = 0; run < 3; run++) {
      const store = await StateStore.open(dir, silentLogger);
      const seq = await TelemetrySeq.open(store, silentLogger, 10);
      for (let i = 0; i < 4; i++) used.push(seq.next());
      // More numbers than one block holds; each background ceiling raise lands before going on.
      for (let i = 0; i < 12; i++) {
        used.push(seq.next());
        await seq.settled();
      }
      expect(store.snapshot.telemetrySeqCeiling).toBeGreaterThan(used.at(-1)!);
    }
    expect(new Set(used).size).toBe(used.length);
    expect([...used].sort((a, b) => a - b)).toEqual(used);
  });
});

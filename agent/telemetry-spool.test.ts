/** Telemetry spool on a real temp folder: order, durability across reopen, the bound and drop counts. */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../lib/log.js";
import { PROTOCOL_VERSION, type TelemetryWindow } from "../wire/messages.js";
import { TelemetrySpool } from "./telemetry-spool.js";

let dir: string;
beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), "edgefleet-spool-")), "spool");
});
afterEach(() => rm(join(dir, ".."), { recursive: true, force: true }));

/** A window whose request count carries its seq, so order and content are both checked. */
function spoolWindow(seq: number, requests = seq): TelemetryWindow {
  return {
    protocol: PROTOCOL_VERSION,
    seq,
    windowStart: new Date(seq * 1000).toISOString(),
    windowEnd: new Date(seq * 1000 + 1000).toISOString(),
    modules: [
      {
        name: "m",
        version: "1.0.0",
        requests,
        errors: 0,
        latencyBucketsMs: [1],
        latencyCounts: [requests, 0],
        latencySumMs: requests,
        inputs: [],
      },
    ],
  };
}

describe("TelemetrySpool", () => {
  it("keeps windows on disk in seq order across a reopen and clears interrupted writes", async () => {
    const spool = await TelemetrySpool.open({ dir, log: silentLogger });
    for (const seq of [7, 8, 120, 9_999_999]) await spool.append(spoolWindow(seq));
    await writeFile(join(dir, ".abc123.tmp"), "half a wind");
    const reopened = await TelemetrySpool.open({ dir, log: silentLogger });
    expect(reopened.size).toBe(4);
    expect((await reopened.oldest(10)).map((w) => w.seq)).toEqual([7, 8, 120, 9_999_999]);
    expect((await reopened.oldest(2))[1]).toEqual(spoolWindow(8));
    await reopened.remove(8);
    expect((await reopened.oldest(10)).map((w) => w.seq)).toEqual([7, 120, 9_999_999]);
    expect((await readdir(dir)).sort()).toEqual(["0000000007.json", "0000000120.json", "0009999999.json"]);
  });

  it("drops the oldest past the bound and remembers the count across a reopen until reported", async () => {
    const spool = await TelemetrySpool.open({ dir, limit: 3, log: silentLogger });
    for (let seq = 1; seq <= 5; seq++) await spool.append(spoolWindow(seq));
    expect(spool.size).toBe(3);
    expect(spool.dropped).toEqual({ total: 2, unreported: 2 });
    const reopened = await TelemetrySpool.open({ dir, limit: 3, log: silentLogger });
    expect((await reopened.oldest(10)).map((w) => w.seq)).toEqual([3, 4, 5]);
    expect(reopened.dropped).toEqual({ total: 2, unreported: 2 });
    await reopened.markDropsReported(2);
    const smaller = await TelemetrySpool.open({ dir, limit: 1, log: silentLogger });
    expect((await smaller.oldest(10)).map((w) => w.seq)).toEqual([5]);
    expect(smaller.dropped).toEqual({ total: 4, unreported: 2 });
  });

  it("deletes and counts a window file that does not parse instead of wedging the queue", async () => {
    const spool = await TelemetrySpool.open({ dir, log: silentLogger });
    await spool.append(spoolWindow(1));
    await writeFile(join(dir, "0000000002.json"), "{ not json");
    await writeFile(join(dir, "0000000003.json"), JSON.stringify({ seq: 3 }));
    const reopened = await TelemetrySpool.open({ dir, log: silentLogger });
    expect(reopened.size).toBe(3);
    expect((await reopened.oldest(10)).map((w) => w.seq)).toEqual([1]);
    expect(reopened.size).toBe(1);
    expect(reopened.dropped).toEqual({ total: 2, unreported: 2 });
  });

  it("refuses a bound below one", async () => {
    await expect(TelemetrySpool.open({ dir, limit: 0, log: silentLogger })).rejects.toThrow(
      /limit must be >= 1/,
    );
  });
});

/** Telemetry spool on a real temp folder: order, durability across reopen, the bound and drop counts. */
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../lib/log.js";
import { waitFor } from "../test/support/wait.js";
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

  it("holds windows in memory while the disk refuses writes, counts what overflows, and writes the rest once the disk is back", async () => {
    const spool = await TelemetrySpool.open({
      dir,
      limit: 10,
      heldLimit: 3,
      retry: { baseMs: 20, maxMs: 40 },
      log: silentLogger,
    });
    await spool.append(spoolWindow(1));
    await spool.remove(1);
    // The fault: the spool folder becomes a plain file, so every write under it fails (as root too,
    // where a chmod would not stop anything). Restored below by putting the folder back.
    await rename(dir, `${dir}.away`);
    await writeFile(dir, "not a folder");
    for (let seq = 2; seq <= 6; seq++) await spool.append(spoolWindow(seq));
    // 4..6 are held, 2 and 3 did not fit.
    expect(spool.held).toBe(3);
    expect(spool.size).toBe(3);
    expect(spool.dropped).toEqual({ total: 2, unreported: 2 });
    // Held windows are sent like any other: a sent one leaves memory.
    expect((await spool.oldest(10)).map((w) => w.seq)).toEqual([4, 5, 6]);
    await spool.remove(4);
    expect(spool.held).toBe(2);

    await rm(dir);
    await rename(`${dir}.away`, dir);
    await waitFor("held windows written to disk", async () => spool.held === 0);
    expect((await readdir(dir)).sort()).toEqual(["0000000005.json", "0000000006.json", "dropped.json"]);
    expect(JSON.parse(await readFile(join(dir, "dropped.json"), "utf8"))).toEqual({
      total: 2,
      unreported: 2,
    });
    // Later windows go straight to disk again, in order.
    await spool.append(spoolWindow(7));
    const reopened = await TelemetrySpool.open({ dir, log: silentLogger });
    expect((await reopened.oldest(10)).map((w) => w.seq)).toEqual([5, 6, 7]);
    expect(reopened.dropped).toEqual({ total: 2, unreported: 2 });
    await spool.close();
  });

  it("counts held windows as dropped when it closes on a disk that still refuses them", async () => {
    const spool = await TelemetrySpool.open({
      dir,
      retry: { baseMs: 10_000, maxMs: 10_000 },
      log: silentLogger,
    });
    await rm(dir, { recursive: true });
    await writeFile(dir, "not a folder");
    await spool.append(spoolWindow(1));
    await spool.append(spoolWindow(2));
    expect(spool.held).toBe(2);
    await spool.close();
    expect(spool.held).toBe(0);
    expect(spool.dropped).toEqual({ total: 2, unreported: 2 });
  });
});

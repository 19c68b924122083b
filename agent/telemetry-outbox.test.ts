/** Telemetry outbox over a real disk spool: offline windows kept, replayed in order, drops reported once. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../lib/log.js";
import type { ModuleWindow, TelemetryWindow } from "../wire/messages.js";
import { TelemetryOutbox } from "./telemetry-outbox.js";
import { TelemetrySpool } from "./telemetry-spool.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgefleet-outbox-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** A stand-in broker link: acknowledges while `up`, records what it acknowledged. */
class Link {
  up = false;
  /** Seq numbers to refuse once (a PUBACK that never came). */
  readonly refuse = new Set<number>();
  readonly sent: TelemetryWindow[] = [];
  readonly dropReports: Array<[number, number]> = [];
  send = async (window: TelemetryWindow) => {
    if (!this.up || this.refuse.delete(window.seq)) return false;
    this.sent.push(window);
    return true;
  };
  reportDropped = async (dropped: number, total: number) => {
    if (!this.up) return false;
    this.dropReports.push([dropped, total]);
    return true;
  };
}

function moduleWindow(requests: number): ModuleWindow {
  return {
    name: "m",
    version: "1.0.0",
    requests,
    errors: 0,
    latencyBucketsMs: [1],
    latencyCounts: [requests, 0],
    latencySumMs: requests,
    inputs: [],
  };
}

async function outbox(link: Link, limit: number, firstSeq: number, pending: number[]) {
  const spool = await TelemetrySpool.open({ dir: join(dir, "spool"), limit, log: silentLogger });
  let seq = firstSeq;
  return new TelemetryOutbox({
    takeWindow: () => {
      const requests = pending.shift();
      return requests === undefined ? [] : [moduleWindow(requests)];
    },
    nextSeq: () => seq++,
    spool,
    send: link.send,
    reportDropped: link.reportDropped,
    intervalMs: 1000,
    log: silentLogger,
  });
}

describe("TelemetryOutbox", () => {
  it("spools windows while offline, skips empty ones, survives a restart and replays in order", async () => {
    const link = new Link();
    const pending = [1, 2, 3];
    const first = await outbox(link, 10, 100, pending);
    for (let i = 0; i < 4; i++) await first.tick(); // the fourth window is empty: not spooled
    expect(first.queued).toBe(3);
    pending.push(4);
    await first.stop(); // a graceful stop spools the window in progress
    expect(first.queued).toBe(4);

    const second = await outbox(link, 10, 200, [5]);
    expect(second.queued).toBe(4);
    link.up = true;
    await second.tick();
    expect(link.sent.map((w) => [w.seq, w.modules[0]!.requests])).toEqual([
      [100, 1],
      [101, 2],
      [102, 3],
      [103, 4],
      [200, 5],
    ]);
    expect(second.queued).toBe(0);
    expect(link.dropReports).toEqual([]);
  });

  it("keeps a window whose acknowledgement did not come and sends it on the next flush", async () => {
    const link = new Link();
    const box = await outbox(link, 10, 1, [1, 2, 3]);
    for (let i = 0; i < 3; i++) await box.tick();
    link.up = true;
    link.refuse.add(2);
    await box.flush();
    expect(link.sent.map((w) => w.seq)).toEqual([1, 3]);
    expect(box.queued).toBe(1);
    await box.flush();
    expect(link.sent.map((w) => w.seq)).toEqual([1, 3, 2]);
    expect(box.queued).toBe(0);
  });

  it("drops the oldest past the bound and reports the count once, after the backlog", async () => {
    const link = new Link();
    const box = await outbox(link, 3, 1, [1, 2, 3, 4, 5]);
    for (let i = 0; i < 5; i++) await box.tick();
    expect(box.queued).toBe(3);
    expect(box.dropped).toBe(2);
    link.up = true;
    await box.flush();
    expect(link.sent.map((w) => w.seq)).toEqual([3, 4, 5]);
    expect(link.dropReports).toEqual([[2, 2]]);
    await box.flush();
    expect(link.dropReports).toEqual([[2, 2]]);
  });
});

/** Telemetry outbox: empty windows skipped, bounded offline queue, order kept. */
import { describe, expect, it } from "vitest";
import { silentLogger } from "../lib/log.js";
import type { ModuleWindow, TelemetryWindow } from "../wire/messages.js";
import { TelemetryOutbox } from "./telemetry-outbox.js";

describe("TelemetryOutbox", () => {
  it("queues telemetry while offline, drops the oldest past the bound, and sends the rest in order", async () => {
    let connected = false;
    const sent: TelemetryWindow[] = [];
    const window: ModuleWindow = {
      name: "m",
      version: "1.0.0",
      requests: 1,
      errors: 0,
      latencyBucketsMs: [1],
      latencyCounts: [1, 0],
      latencySumMs: 0.5,
      inputs: [],
    };
    let empty = false;
    let seq = 40;
    const outbox = new TelemetryOutbox({
      takeWindow: () => (empty ? [] : [window]),
      nextSeq: () => seq++,
      send: (w) => connected && sent.push(w) > 0,
      intervalMs: 1000,
      limit: 3,
      log: silentLogger,
    });
    for (let i = 0; i < 5; i++) outbox.tick();
    empty = true;
    outbox.tick(); // an empty window is not queued
    expect(outbox.queued).toBe(3);
    expect(outbox.dropped).toBe(2);
    connected = true;
    outbox.flush();
    expect(sent.map((w) => w.seq)).toEqual([42, 43, 44]);
    expect(outbox.queued).toBe(0);
  });
});

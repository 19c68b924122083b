/**
 * [WIRE-5.5] The hub de-duplicates telemetry on (device, epoch, seq, module): a redelivered window is
 * stored once, while a window whose seq restarted under a new epoch (an agent that lost its state
 * file) is a new window. Windows without an epoch (older agents) keep the old (device, seq) rule.
 * Real PGlite with the migrations, drift summaries included.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DriftSummary } from "../../drift-summary/summary.js";
import { moduleWindow } from "../../test/support/device-messages.js";
import type { TelemetryWindow } from "../../wire/messages.js";
import { openDatabase } from "../db/connect.js";
import type { Database } from "../db/database.js";
import { TelemetryWriter } from "./index.js";

let dataDir: string;
let database: Database;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "edgefleet-epoch-"));
  database = await openDatabase({ dataDir });
});

afterAll(async () => {
  await database?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** A window of `requests` requests with a (minimal) drift summary, under `epoch`. */
function window(seq: number, requests: number, epoch?: string): TelemetryWindow {
  const base = moduleWindow(seq, { name: "m", version: "1.0.0" }, requests);
  const drift = { baselineId: "b", rows: requests, windowStart: base.windowStart } as unknown as DriftSummary;
  return { ...base, ...(epoch ? { epoch } : {}), modules: base.modules.map((m) => ({ ...m, drift })) };
}

describe("telemetry de-duplication by (device, epoch, seq)", () => {
  it("stores a restarted seq under a new epoch, drops a redelivery, keeps the old rule without an epoch", async () => {
    const writer = new TelemetryWriter(database.db);
    writer.add("dev", window(0, 1, "aaaaaaaaaaaaaaaa"));
    writer.add("dev", window(1, 2, "aaaaaaaaaaaaaaaa"));
    writer.add("dev", window(1, 2, "aaaaaaaaaaaaaaaa")); // QoS 1 redelivery
    writer.add("dev", window(0, 4, "bbbbbbbbbbbbbbbb")); // state lost: seq 0 again, new run
    writer.add("dev", window(7, 8));
    writer.add("dev", window(7, 8)); // an older agent's redelivery
    await writer.close();
    expect(writer.stats()).toMatchObject({ written: 4, duplicates: 2 });
    const rows = await database.db.query.telemetryWindows.findMany({
      where: (t, { eq }) => eq(t.deviceId, "dev"),
    });
    expect(rows.map((r) => [r.epoch, r.seq, r.requests]).sort()).toEqual([
      ["", 7, 8],
      ["aaaaaaaaaaaaaaaa", 0, 1],
      ["aaaaaaaaaaaaaaaa", 1, 2],
      ["bbbbbbbbbbbbbbbb", 0, 4],
    ]);
    const summaries = await database.db.query.driftSummaries.findMany({
      where: (t, { eq }) => eq(t.deviceId, "dev"),
    });
    expect(summaries.map((s) => [s.epoch, s.seq]).sort()).toEqual([
      ["", 7],
      ["aaaaaaaaaaaaaaaa", 0],
      ["aaaaaaaaaaaaaaaa", 1],
      ["bbbbbbbbbbbbbbbb", 0],
    ]);
  });
});

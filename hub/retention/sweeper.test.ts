import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../lib/clock.js";
import { moduleWindow } from "../../test/support/device-messages.js";
import { memoryLogger } from "../../test/support/memory-log.js";
import { waitFor } from "../../test/support/wait.js";
import { parseHubConfig } from "../config.js";
import { openDatabase } from "../db/connect.js";
import type { Database } from "../db/database.js";
import { idempotencyRepo, TelemetryWriter } from "../repos/index.js";
import { startRetentionSweeper } from "./sweeper.js";

const DAY = 86_400_000;
let dataDir: string;
let database: Database;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "edgefleet-retention-"));
  database = await openDatabase({ dataDir });
});

afterAll(async () => {
  await database?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const window = (seq: number) => moduleWindow(seq, { name: "m", version: "1.0.0" }, 1);

const storedSeqs = async (deviceId: string) =>
  (await database.db.query.telemetryWindows.findMany({ where: (t, { eq }) => eq(t.deviceId, deviceId) })).map(
    (w) => w.seq,
  );

describe("retention sweeper", () => {
  it("sweeps after its first delay and then every interval, deleting only what aged past the days kept", async () => {
    const clock = new ManualClock(Date.parse("2025-06-01T00:00:00.000Z"));
    const writer = new TelemetryWriter(database.db);
    const now = clock.now().getTime();
    writer.add("dev-a", window(1), new Date(now - 31 * DAY));
    writer.add("dev-a", window(2), new Date(now - 29 * DAY - 1_000));
    await writer.close();
    const memory = memoryLogger();
    const sweeper = startRetentionSweeper({
      db: database.db,
      retentionDays: 30,
      clock,
      log: memory.log,
      firstDelayMs: 1_000,
      intervalMs: DAY,
    });
    const swept = (count: number) =>
      waitFor(`${count} sweeps`, async () => memory.events("retention.swept").length === count);
    clock.advance(999);
    expect(memory.events("retention.swept")).toHaveLength(0);
    clock.advance(1);
    await swept(1);
    expect(memory.events("retention.swept")[0]).toMatchObject({ deleted: { telemetry_windows: 1 } });
    expect(await storedSeqs("dev-a")).toEqual([2]);
    clock.advance(DAY);
    await swept(2);
    expect(await storedSeqs("dev-a")).toEqual([]);
    await sweeper.close();
  });

  it("keeps everything when the days kept are 0", async () => {
    const clock = new ManualClock(Date.parse("2025-06-01T00:00:00.000Z"));
    const writer = new TelemetryWriter(database.db);
    writer.add("dev-b", window(1), new Date(clock.now().getTime() - 3_650 * DAY));
    await writer.close();
    const memory = memoryLogger();
    const sweeper = startRetentionSweeper({ db: database.db, retentionDays: 0, clock, log: memory.log });
    clock.advance(10 * DAY);
    await sweeper.sweep();
    expect(memory.events("retention.swept")).toHaveLength(0);
    expect(await storedSeqs("dev-b")).toEqual([1]);
    await sweeper.close();
  });
});

describe("expired idempotency keys", () => {
  it("are deleted by every sweep, also when the days kept are 0; unexpired keys stay", async () => {
    const clock = new ManualClock(Date.parse("2025-06-01T00:00:00.000Z"));
    const keys = idempotencyRepo(database.db, { now: () => clock.now() });
    const request = (key: string) => ({
      principal: "token:t",
      key,
      method: "POST",
      path: "/api/v1/deployments",
      requestSha256: "0".repeat(64),
    });
    await keys.claim(request("short"), 1_000);
    await keys.claim(request("long"), DAY);
    const memory = memoryLogger();
    const sweeper = startRetentionSweeper({ db: database.db, retentionDays: 0, clock, log: memory.log });
    clock.advance(2_000);
    await sweeper.sweep();
    expect(memory.events("idempotency.swept")[0]).toMatchObject({ deleted: 1 });
    expect((await database.db.query.idempotencyKeys.findMany()).map((k) => k.key)).toEqual(["long"]);
    // An expired key that the sweep has not reached yet is free to claim again all the same.
    clock.advance(DAY);
    expect(await keys.claim(request("long"), DAY)).toEqual({ claimed: true });
    await sweeper.close();
  });
});

describe("the retention setting", () => {
  it("keeps 30 days by default, takes EDGEFLEET_RETENTION_DAYS, and refuses what is not a day count", () => {
    expect(parseHubConfig({}, {}).retentionDays).toBe(30);
    expect(parseHubConfig({}, { EDGEFLEET_RETENTION_DAYS: "7" }).retentionDays).toBe(7);
    expect(parseHubConfig({}, { EDGEFLEET_RETENTION_DAYS: "0" }).retentionDays).toBe(0);
    expect(() => parseHubConfig({}, { EDGEFLEET_RETENTION_DAYS: "-1" })).toThrow(/retentionDays/);
    expect(() => parseHubConfig({}, { EDGEFLEET_RETENTION_DAYS: "a week" })).toThrow(/retentionDays/);
  });
});

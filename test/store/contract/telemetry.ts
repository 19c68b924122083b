/** Contract: the batching TelemetryWriter (dedupe, triggers, failure policy) and telemetry queries. */
import { sql } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { TelemetryWriter, telemetryRepo } from "../../../hub/repos/index.js";
import { LATENCY_BUCKETS_MS, type ModuleWindow, type TelemetryWindow } from "../../../wire/messages.js";
import { type ContractContext, unique } from "./context.js";

function moduleWindow(name: string, requests = 10): ModuleWindow {
  return {
    name,
    version: "1.0.0",
    requests,
    errors: 1,
    latencyBucketsMs: [...LATENCY_BUCKETS_MS],
    latencyCounts: LATENCY_BUCKETS_MS.map(() => 0).concat([0]),
    latencySumMs: 12.5,
    inputs: [{ name: "f0", count: requests, missing: 0, min: 0, max: 1, sum: 5, sumSquares: 3 }],
  };
}

function window(seq: number, modules: ModuleWindow[], minute = seq): TelemetryWindow {
  const start = Date.parse("2025-01-01T00:00:00.000Z") + minute * 60_000;
  return {
    protocol: 1,
    seq,
    windowStart: new Date(start).toISOString(),
    windowEnd: new Date(start + 60_000).toISOString(),
    modules,
  };
}

/** Registers the telemetry tests. */
export function telemetryContract(ctx: ContractContext): void {
  describe("telemetry", () => {
    it("writes one row per module and drops QoS 1 redeliveries", async () => {
      const writer = new TelemetryWriter(ctx.db());
      const telemetry = telemetryRepo(ctx.db());
      const device = unique("dev");
      expect(writer.add(device, window(1, [moduleWindow("a"), moduleWindow("b")]))).toBe(2);
      await writer.flush();
      writer.add(device, window(1, [moduleWindow("a"), moduleWindow("b")])); // redelivered
      writer.add(device, window(2, [moduleWindow("a")]));
      writer.add(device, window(2, [moduleWindow("a")])); // duplicate inside one batch
      await writer.close();
      expect(writer.stats()).toMatchObject({ written: 3, duplicates: 3, dropped: 0, pending: 0 });
      expect(await telemetry.count({ deviceId: device })).toBe(3);
      const [latest] = await telemetry.list({ deviceId: device, module: "a", limit: 1 });
      expect(latest).toMatchObject({ seq: 2, module: "a", moduleVersion: "1.0.0", requests: 10, errors: 1 });
      expect(latest?.latencySumMs).toBe(12.5);
      expect(latest?.payload.inputs[0]?.sumSquares).toBe(3);
      expect(latest?.windowEnd).toEqual(new Date("2025-01-01T00:03:00.000Z"));
    });

    it("filters by device, module and time, latest window first", async () => {
      const writer = new TelemetryWriter(ctx.db());
      const telemetry = telemetryRepo(ctx.db());
      const [d1, d2] = [unique("dev"), unique("dev")];
      const module = unique("mod");
      for (let seq = 0; seq < 5; seq++) writer.add(d1, window(seq, [moduleWindow(module)]));
      writer.add(d2, window(0, [moduleWindow(module), moduleWindow(unique("other"))]));
      await writer.close();
      expect(await telemetry.count({ module })).toBe(6);
      expect(await telemetry.count({ deviceId: d2 })).toBe(2);
      expect((await telemetry.list({ deviceId: d1 })).map((w) => w.seq)).toEqual([4, 3, 2, 1, 0]);
      const since = new Date("2025-01-01T00:04:00.000Z"); // windows ending at or after minute 4
      expect((await telemetry.list({ deviceId: d1, since })).map((w) => w.seq)).toEqual([4, 3]);
      expect(await telemetry.count({ deviceId: d1, module, since })).toBe(2);
      expect(await telemetry.list({ deviceId: d1, limit: 2 })).toHaveLength(2);
      expect(await telemetry.count({ deviceId: unique("none") })).toBe(0);
    });

    it("flushes by itself when the buffer reaches maxRows or the interval passes", async () => {
      const device = unique("dev");
      const telemetry = telemetryRepo(ctx.db());
      const bySize = new TelemetryWriter(ctx.db(), { maxRows: 3, flushIntervalMs: 3_600_000 });
      bySize.add(device, window(1, [moduleWindow("a"), moduleWindow("b"), moduleWindow("c")]));
      await vi.waitFor(() => expect(bySize.stats().written).toBe(3));
      const byTime = new TelemetryWriter(ctx.db(), { maxRows: 1000, flushIntervalMs: 5 });
      byTime.add(device, window(2, [moduleWindow("a")]));
      await vi.waitFor(() => expect(byTime.stats().written).toBe(1));
      expect(await telemetry.count({ deviceId: device })).toBe(4);
      await Promise.all([bySize.close(), byTime.close()]);
    });

    it("refuses windows the database could never store, and rows after close", async () => {
      const writer = new TelemetryWriter(ctx.db());
      const device = unique("dev");
      expect(writer.add(device, window(2 ** 31, [moduleWindow("a")]))).toBe(0);
      expect(writer.add(device, window(1, [moduleWindow("a\u0000b")]))).toBe(0);
      expect(writer.add(device, window(1, [moduleWindow("ok")]))).toBe(1);
      await writer.close();
      expect(writer.add(device, window(2, [moduleWindow("ok")]))).toBe(0);
      expect(writer.stats()).toMatchObject({ written: 1, rejected: 3, failedFlushes: 0 });
      expect(await telemetryRepo(ctx.db()).count({ deviceId: device })).toBe(1);
    });

    // A real database refusal (a CHECK constraint added for the test), not a mock.
    it("retries a failed write once, then counts the rows as dropped without throwing", async () => {
      const db = ctx.db();
      const constraint = sql.raw(`tw_test_${unique("c").replace("-", "_")}`);
      const device = unique("dev");
      await db.execute(
        sql`alter table telemetry_windows add constraint ${constraint} check (requests < 1000000)`,
      );
      try {
        const failing = new TelemetryWriter(db);
        failing.add(device, window(1, [moduleWindow("a", 5_000_000), moduleWindow("b", 5_000_000)]));
        // Both rows fail together, then each alone (the split); the retry does the same again.
        await failing.flush();
        expect(failing.stats()).toMatchObject({ written: 0, dropped: 2, failedFlushes: 6, pending: 0 });

        const recovering = new TelemetryWriter(db, { maxRows: 2, flushIntervalMs: 3_600_000 });
        recovering.add(device, window(2, [moduleWindow("a", 5_000_000), moduleWindow("b", 5_000_000)]));
        await vi.waitFor(() => expect(recovering.stats()).toMatchObject({ failedFlushes: 3, pending: 2 }));
        await db.execute(sql`alter table telemetry_windows drop constraint ${constraint}`);
        await recovering.close();
        expect(recovering.stats()).toMatchObject({ written: 2, dropped: 0, failedFlushes: 3 });
      } finally {
        await db.execute(sql`alter table telemetry_windows drop constraint if exists ${constraint}`);
      }
      expect(await telemetryRepo(db).count({ deviceId: device })).toBe(2);
    });

    it("stores the other devices' windows of a batch in which the database refuses one row", async () => {
      const db = ctx.db();
      const constraint = sql.raw(`tw_test_${unique("c").replace("-", "_")}`);
      const refused = unique("dev");
      const others = [unique("dev"), unique("dev"), unique("dev")];
      // NOT VALID: rows earlier tests stored with large counts stay; only new rows are checked.
      await db.execute(
        sql`alter table telemetry_windows add constraint ${constraint} check (requests < 1000000) not valid`,
      );
      try {
        const writer = new TelemetryWriter(db, { maxRows: 100, flushIntervalMs: 3_600_000 });
        const stored = others.map((device) => writer.store(device, window(1, [moduleWindow("a")])));
        const dropped = writer.store(refused, window(1, [moduleWindow("a", 5_000_000)]));
        await Promise.all(stored);
        await expect(dropped).rejects.toThrow("dropped");
        await writer.close();
        expect(writer.stats()).toMatchObject({ written: 3, dropped: 1 });
      } finally {
        await db.execute(sql`alter table telemetry_windows drop constraint if exists ${constraint}`);
      }
      for (const device of others) expect(await telemetryRepo(db).count({ deviceId: device })).toBe(1);
      expect(await telemetryRepo(db).count({ deviceId: refused })).toBe(0);
    });
  });
}

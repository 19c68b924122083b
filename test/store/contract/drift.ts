/** Contract: drift summaries and samples written with telemetry, monitors, evaluations, alerts, retraining cycles. */
import { describe, expect, it } from "vitest";
import { createDriftStore } from "../../../hub/monitors/store.js";
import { TelemetryWriter } from "../../../hub/repos/index.js";
import { pruneOlderThan } from "../../../hub/retention/prune.js";
import { LATENCY_BUCKETS_MS, type TelemetryWindow } from "../../../wire/messages.js";
import { type ContractContext, fakeSha, manualClock, unique } from "./context.js";

const BASELINE = fakeSha("baseline");

function window(seq: number, module: string, extra: Record<string, unknown>): TelemetryWindow {
  const start = Date.parse("2025-01-01T00:00:00.000Z") + seq * 60_000;
  const at = (ms: number) => new Date(ms).toISOString();
  return {
    protocol: 1,
    seq,
    windowStart: at(start),
    windowEnd: at(start + 60_000),
    modules: [
      {
        name: module,
        version: "1.0.0",
        requests: 30,
        errors: 0,
        latencyBucketsMs: [...LATENCY_BUCKETS_MS],
        latencyCounts: LATENCY_BUCKETS_MS.map(() => 0).concat([30]),
        latencySumMs: 1,
        inputs: [],
        ...extra,
      },
    ],
  } as TelemetryWindow;
}

/** A monitor with action alert, for the retraining cycle contracts. */
function alertMonitor(store: ReturnType<typeof createDriftStore>, name: string) {
  return store.monitors.create({
    name: unique(name),
    module: "m",
    moduleVersion: "1.0.0",
    selector: { tags: { a: "b" } },
    settings: { alpha: 0.01, scales: [1], minRows: 10, includeOutputs: true },
    intervalMs: 60_000,
    action: { kind: "alert" },
    webhook: null,
    enabled: true,
    createdBy: "test",
  });
}

const summary = (rows: number) => ({
  baselineId: BASELINE,
  rows,
  windowStart: "2025-01-01T00:00:00.000Z",
  windowEnd: "2025-01-01T00:01:00.000Z",
  columns: { x: { kind: "categorical" as const, counts: [rows, 0], unseen: 0, missing: 0 } },
  outputs: {},
});

/** Registers the drift store tests. */
export function driftContract(ctx: ContractContext): void {
  describe("drift store", () => {
    it("splits summaries and samples off telemetry windows, drops redeliveries, joins late labels", async () => {
      const store = createDriftStore(ctx.db());
      const writer = new TelemetryWriter(ctx.db());
      const [device, module] = [unique("dev"), unique("mod")];
      const row = (id: string, label?: string) => ({
        id,
        at: "2025-01-01T00:00:30.000Z",
        inputs: { x: "a" },
        outputs: {},
        ...(label ? { label } : {}),
      });
      writer.add(
        device,
        window(1, module, { drift: summary(30), samples: { rows: [row("p1"), row("p2", "yes")] } }),
      );
      writer.add(device, window(1, module, { drift: summary(30) })); // QoS 1 redelivery
      for (let seq = 2; seq <= 5; seq++)
        writer.add(device, window(seq, module, { drift: summary(seq * 10) }));
      writer.add(device, window(6, module, { samples: { rows: [], labels: [{ id: "p1", label: "no" }] } }));
      await writer.close();
      const stored = await store.data.summaries({ deviceId: device });
      expect(stored.map((s) => s.seq)).toEqual([5, 4, 3, 2, 1]);
      const [telemetry] = await ctx
        .db()
        .query.telemetryWindows.findMany({ where: (t, { eq }) => eq(t.deviceId, device), limit: 1 });
      expect(telemetry?.payload).not.toHaveProperty("drift");
      const cohort = await store.data.cohortSummaries({
        module,
        moduleVersion: "1.0.0",
        deviceIds: [device, unique("x")],
        perDevice: 2,
      });
      expect(cohort.map((s) => s.seq)).toEqual([5, 4]);
      const labelled = await store.data.samples({ module, labelled: true });
      expect(labelled.map((s) => [s.sampleId, s.label]).sort()).toEqual([
        ["p1", "no"],
        ["p2", "yes"],
      ]);
      expect(labelled.find((s) => s.sampleId === "p1")?.inputs).toEqual({ x: "a" });
      expect(await store.data.countLabelled({ module, deviceIds: [device], since: new Date(0) })).toBe(2);
    });

    it("keeps monitors unique by name, records evaluations with the previous state, tracks webhooks", async () => {
      const clock = manualClock();
      const store = createDriftStore(ctx.db(), clock);
      const input = {
        name: unique("mon"),
        module: "m",
        moduleVersion: "1.0.0",
        selector: { tags: { a: "b" } },
        settings: { alpha: 0.01, scales: [1, 4], minRows: 10, includeOutputs: true },
        intervalMs: 60_000,
        action: { kind: "alert" as const },
        webhook: { url: "http://127.0.0.1:9/x" },
        enabled: true,
        createdBy: "test",
      };
      const monitor = await store.monitors.create(input);
      await expect(store.monitors.create(input)).rejects.toThrow(/already exists/);
      expect((await store.monitors.get(monitor.name))?.id).toBe(monitor.id);
      expect((await store.monitors.listDue(clock.now!())).some((m) => m.id === monitor.id)).toBe(true);
      const evaluation = {
        monitorId: monitor.id,
        moduleVersion: "1.0.0",
        rows: 10,
        devices: 1,
        windowEnd: null,
        report: {},
      };
      const later = new Date(clock.now!().getTime() + 60_000);
      const first = await store.monitors.recordEvaluation({ ...evaluation, verdict: "drift" }, later);
      expect(first.previousState).toBe("no-data");
      const second = await store.monitors.recordEvaluation({ ...evaluation, verdict: "drift" }, later);
      expect(second.previousState).toBe("drift");
      expect((await store.monitors.listDue(clock.now!())).some((m) => m.id === monitor.id)).toBe(false);
      expect((await store.monitors.evaluations(monitor.id)).map((e) => e.id)).toEqual([
        second.evaluation.id,
        first.evaluation.id,
      ]);
      const alert = await store.monitors.createAlert({
        monitorId: monitor.id,
        evaluationId: first.evaluation.id,
        at: clock.now!(),
        message: "drift",
        details: {},
        webhookStatus: "pending",
      });
      expect((await store.monitors.pendingWebhooks()).map((a) => a.id)).toContain(alert.id);
      await store.monitors.setWebhookState(alert.id, { status: "delivered", attempts: 2 });
      expect((await store.monitors.alerts({ monitorId: monitor.id }))[0]).toMatchObject({
        webhookStatus: "delivered",
        webhookAttempts: 2,
      });
      expect((await store.monitors.pendingWebhooks()).map((a) => a.id)).not.toContain(alert.id);
    });

    it("opens one retraining cycle per monitor at a time and records each step", async () => {
      const store = createDriftStore(ctx.db());
      const monitor = await alertMonitor(store, "mon");
      const [a, b] = await Promise.all([
        store.retraining.start(monitor.id, null),
        store.retraining.start(monitor.id, null),
      ]);
      expect([a, b].filter(Boolean)).toHaveLength(1);
      const cycle = (a ?? b)!;
      await store.retraining.advance(cycle.id, {
        status: "training",
        state: { runId: "r1" },
        step: "run-submitted",
        message: "m",
      });
      const done = await store.retraining.advance(cycle.id, {
        status: "rejected",
        state: { scores: 1 },
        step: "challenger-rejected",
        message: "m",
      });
      expect(done).toMatchObject({ status: "rejected", state: { runId: "r1", scores: 1 } });
      expect(done.finishedAt).not.toBeNull();
      expect((await store.retraining.open()).some((c) => c.id === cycle.id)).toBe(false);
      expect((await store.retraining.events(monitor.id)).map((e) => e.step)).toEqual([
        "started",
        "run-submitted",
        "challenger-rejected",
      ]);
      expect(await store.retraining.start(monitor.id, null)).not.toBeNull();
    });

    it("leases a cycle to one driver at a time: renewed by its owner, taken over once it lapses or is released", async () => {
      const clock = manualClock();
      const store = createDriftStore(ctx.db(), clock);
      const monitor = await alertMonitor(store, "lease");
      const cycle = (await store.retraining.start(monitor.id, null))!;
      // Two replicas claim at once: exactly one wins.
      const both = await Promise.all([
        store.retraining.claim(cycle.id, "hub-a", 60_000),
        store.retraining.claim(cycle.id, "hub-b", 60_000),
      ]);
      expect(both.filter(Boolean)).toHaveLength(1);
      const [owner, other] = both[0] ? ["hub-a", "hub-b"] : ["hub-b", "hub-a"];
      clock.advance(50_000);
      expect(await store.retraining.claim(cycle.id, owner!, 60_000)).toBe(true);
      clock.advance(50_000);
      // Renewed 50 s ago for 60 s: still the owner's.
      expect(await store.retraining.claim(cycle.id, other!, 60_000)).toBe(false);
      clock.advance(11_000);
      expect(await store.retraining.claim(cycle.id, other!, 60_000)).toBe(true);
      expect(await store.retraining.claim(cycle.id, owner!, 60_000)).toBe(false);
      await store.retraining.release(other!);
      expect(await store.retraining.claim(cycle.id, owner!, 60_000)).toBe(true);
      // A finished cycle is nobody's to step.
      await store.retraining.advance(cycle.id, { status: "failed", step: "x-failed", message: "m" });
      expect(await store.retraining.claim(cycle.id, owner!, 60_000)).toBe(false);
    });

    it("prunes telemetry, drift rows and evaluations older than the cutoff, in batches, and nothing newer", async () => {
      const old = Date.parse("2001-01-01T00:00:00.000Z");
      const cutoff = new Date("2001-06-01T00:00:00.000Z");
      const recent = new Date("2001-07-01T00:00:00.000Z");
      const clock = manualClock(old);
      const store = createDriftStore(ctx.db(), clock);
      const writer = new TelemetryWriter(ctx.db());
      const [device, module] = [unique("dev"), unique("mod")];
      const sample = (id: string) => ({
        id,
        at: "2001-01-01T00:00:00.000Z",
        inputs: { x: "a" },
        outputs: {},
      });
      for (let seq = 1; seq <= 5; seq++) {
        const receivedAt = new Date(seq <= 3 ? old : recent.getTime());
        const extra = { drift: summary(30), samples: { rows: [sample(`s${seq}`)] } };
        writer.add(device, window(seq, module, extra), receivedAt);
      }
      await writer.close();
      const monitor = await alertMonitor(store, "prune");
      const evaluation = {
        monitorId: monitor.id,
        moduleVersion: "1.0.0",
        rows: 1,
        devices: 1,
        windowEnd: null,
      };
      await store.monitors.recordEvaluation({ ...evaluation, verdict: "ok", report: {} }, new Date(old));
      clock.set(recent.getTime());
      await store.monitors.recordEvaluation({ ...evaluation, verdict: "ok", report: {} }, recent);

      const deleted = await pruneOlderThan(ctx.db(), cutoff, 2);
      expect(deleted).toEqual({
        telemetry_windows: 3,
        drift_summaries: 3,
        drift_samples: 3,
        monitor_evaluations: 1,
      });
      expect((await store.data.summaries({ deviceId: device })).map((s) => s.seq)).toEqual([5, 4]);
      const samples = await store.data.samples({ module });
      expect(samples.map((s) => s.sampleId).sort()).toEqual(["s4", "s5"]);
      expect(await store.monitors.evaluations(monitor.id)).toHaveLength(1);
      expect(await pruneOlderThan(ctx.db(), cutoff)).toEqual({
        telemetry_windows: 0,
        drift_summaries: 0,
        drift_samples: 0,
        monitor_evaluations: 0,
      });
    });
  });
}

/**
 * Retraining cycles that end before a canary, on a real hub (PGlite, embedded broker, the in-hub
 * trainer; manual clock, driver passes run by hand): a challenger that does not beat the champion
 * by the margin is rejected and leaves no module, deployment or alias change behind; a training run
 * that fails ends the cycle failed with the run's error; too few labelled samples by the collect
 * timeout end it failed with the count. Database errors provoked by a test-only trigger: a step
 * whose record fails is retried after a growing backoff (the training step then adopts the run it had
 * submitted instead of submitting a second), and five such failures in a row end the cycle failed.
 * A monitor that still drifts after its cycle ended starts another once retryAfterMs has passed.
 * Each monitor watches its own cohort of MQTT devices, so one cycle's samples are never another's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Monitoring } from "../../drift-summary/monitoring.js";
import { RetrainingDriver } from "../../hub/retraining/driver.js";
import { ManualClock } from "../../lib/clock.js";
import { silentLogger } from "../../lib/log.js";
import { deviceTopic } from "../../wire/topics.js";
import { refuseRetrainingStep } from "../support/db-faults.js";
import { driftWindow, summaryFor } from "../support/drift-windows.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { endAll } from "../support/mqtt-clients.js";
import {
  championVersion,
  collectCommands,
  connectDevice,
  cyclesOf,
  deploymentsOf,
  driveCycle,
  MODULE,
  moduleVersions,
  rowsNear,
  sendSamples,
  setUpChampion,
  shiftedConcept,
  startCycle,
  type TestDevice,
  trainingConcept,
} from "../support/retraining.js";
import { waitFor } from "../support/wait.js";

const clock = new ManualClock();
let hub: TestHub;
let champion: number;
const devices: TestDevice[] = [];

async function monitorFor(group: string, retrain: Record<string, unknown>): Promise<string> {
  const cohort = await Promise.all(
    ["a", "b"].map((suffix) => connectDevice(hub, `${group}-${suffix}`, { group })),
  );
  devices.push(...cohort);
  const monitor = await hub.client.post<{ id: string }>("/api/v1/monitors", {
    name: `${group}-watch`,
    module: MODULE,
    version: "1.0.0",
    selector: { tags: { group } },
    intervalMs: 3_600_000,
    action: { kind: "retrain", retrain: { dataset: MODULE, samplesPerWindow: 200, ...retrain } },
  });
  return monitor.id;
}

const cohortOf = (group: string) => devices.filter((d) => d.id.startsWith(`${group}-`));

beforeAll(async () => {
  hub = await startTestHub({ clock, trainer: true });
  ({ champion } = await setUpChampion(hub));
}, 180_000);

afterAll(async () => {
  await endAll(devices.map((d) => d.client));
  await hub?.dispose();
});

describe("retraining cycles that stop before a canary", () => {
  it("rejects a challenger that is not better by the margin: no module, no deployment, alias unchanged", async () => {
    const monitorId = await monitorFor("rej", { margin: 0.5, minLabelled: 100 });
    await startCycle(hub, monitorId);
    // The devices see what the model was trained on: nothing for a challenger to win.
    for (const [i, device] of cohortOf("rej").entries())
      await sendSamples(hub, device, rowsNear(100 + i, 80, 0, trainingConcept));
    const cycle = await driveCycle(hub, monitorId, ["rejected"], { clock });

    expect(cycle.steps.map((s) => s.step)).toEqual([
      "started",
      "samples-requested",
      "run-submitted",
      "run-succeeded",
      "challenger-rejected",
    ]);
    const scores = cycle.state.scores as {
      champion: { metric: string; value: number };
      challenger: { value: number };
      margin: number;
    };
    expect(scores.champion.metric).toBe("accuracy");
    expect(scores.margin).toBe(0.5);
    expect(scores.challenger.value).toBeLessThan(scores.champion.value + 0.5);
    expect(cycle.state.challenger).toBeGreaterThan(champion);
    expect(await moduleVersions(hub)).toEqual(["1.0.0"]);
    expect(await deploymentsOf(hub)).toEqual([]);
    expect(await championVersion(hub)).toBe(champion);
    const monitor = await hub.client.get<{ moduleVersion: string }>(`/api/v1/monitors/${monitorId}`);
    expect(monitor.moduleVersion).toBe("1.0.0");
  }, 180_000);

  it("ends failed with the run's error when training fails", async () => {
    // A dataset whose columns no longer match the champion's features: the worker refuses the
    // device rows (they carry x1 and x2 only) and the run fails.
    const csv = `x1,x2,x3,label\n${rowsNear(5, 200, 0, trainingConcept)
      .map((r) => `${r.x1},${r.x2},1,${r.label}`)
      .join("\n")}\n`;
    await hub.client.request(
      "POST",
      "/api/v1/datasets/churn-wide/versions?format=csv&target=label&task=classification",
      new TextEncoder().encode(csv),
      { "content-type": "text/csv" },
    );
    const monitorId = await monitorFor("fail", { dataset: "churn-wide", minLabelled: 40 });
    await startCycle(hub, monitorId);
    for (const [i, device] of cohortOf("fail").entries())
      await sendSamples(hub, device, rowsNear(200 + i, 40, 6, shiftedConcept));
    const cycle = await driveCycle(hub, monitorId, ["failed"], { clock });

    expect(cycle.steps.map((s) => s.step)).toEqual([
      "started",
      "samples-requested",
      "run-submitted",
      "training-failed",
    ]);
    const run = await hub.client.get<{ status: string; error: { code: string; message: string } }>(
      `/api/v1/runs/${cycle.state.runId}`,
    );
    expect(run.status).toBe("failed");
    expect(run.error.message).toMatch(/extra rows' columns differ from the dataset's \(missing: x3/);
    expect(cycle.error).toBe(`run ${cycle.state.runId} failed: ${run.error.message}`);
    expect(cycle.steps.at(-1)!.message).toBe(cycle.error);
    expect(await moduleVersions(hub)).toEqual(["1.0.0"]);
    expect(await championVersion(hub)).toBe(champion);
  }, 180_000);

  it("ends failed when too few labelled samples arrive before the collect timeout", async () => {
    const monitorId = await monitorFor("slow", { minLabelled: 50, collectTimeoutMs: 60_000 });
    const runsBefore = (await hub.client.get<{ runs: unknown[] }>("/api/v1/runs")).runs.length;
    const requested = await startCycle(hub, monitorId);
    expect(requested.status).toBe("collecting");
    for (const device of cohortOf("slow")) {
      // The command is published when the step is recorded; the device's copy arrives a moment later.
      await waitFor(
        `${device.id} to receive collect-samples`,
        async () => collectCommands(device).length > 0,
      );
      expect(collectCommands(device)).toEqual([
        expect.objectContaining({ module: MODULE, version: "1.0.0", maxPerWindow: 200, windows: 5 }),
      ]);
    }
    // 12 labelled rows, and 30 that never got a label (they do not count).
    const [first, second] = cohortOf("slow");
    await sendSamples(hub, first!, rowsNear(300, 12, 6, shiftedConcept));
    await sendSamples(
      hub,
      second!,
      rowsNear(301, 30, 6, shiftedConcept).map(({ x1, x2 }) => ({ x1, x2 })),
    );
    await hub.parts.drift.retraining.kick();
    expect((await cyclesOf(hub, monitorId))[0]!.status).toBe("collecting");

    clock.advance(61_000);
    const cycle = await driveCycle(hub, monitorId, ["failed"], { clock });
    expect(cycle.steps.map((s) => s.step)).toEqual(["started", "samples-requested", "collecting-failed"]);
    expect(cycle.error).toBe("only 12 labelled samples after 61 s; the monitor needs 50");
    expect(cycle.state.runId).toBeUndefined();
    expect((await hub.client.get<{ runs: unknown[] }>("/api/v1/runs")).runs).toHaveLength(runsBefore);
  }, 120_000);

  it("retries a step whose record failed; the training step adopts the run it had submitted", async () => {
    const monitorId = await monitorFor("adopt", { margin: 0.5, minLabelled: 100 });
    await startCycle(hub, monitorId);
    for (const [i, device] of cohortOf("adopt").entries())
      await sendSamples(hub, device, rowsNear(700 + i, 80, 0, trainingConcept));
    // The run is submitted, then recording run-submitted fails: what a crash in between leaves.
    const heal = await refuseRetrainingStep(hub.parts.database.db, "run-submitted");
    let retried: Awaited<ReturnType<typeof driveCycle>>;
    try {
      retried = await driveCycle(hub, monitorId, (c) => c.steps.at(-1)?.step === "collecting-retry", {
        clock,
      });
    } finally {
      await heal();
    }
    expect(retried.status).toBe("collecting");
    expect(retried.steps.at(-1)).toMatchObject({ details: { failures: 1 } });
    expect(retried.steps.at(-1)!.message).toMatch(
      /^database query failed: injected fault: step run-submitted may not be recorded; retrying/,
    );
    const left = await hub.parts.repos.runs.byCycle(retried.id);
    expect(left).toHaveLength(1);
    expect(left[0]!.spec).toMatchObject({ trigger: { kind: "monitor", monitorId, cycleId: retried.id } });

    const cycle = await driveCycle(hub, monitorId, ["rejected"], { clock });
    expect(cycle.steps.map((s) => s.step)).toEqual([
      "started",
      "samples-requested",
      "collecting-retry",
      "run-submitted",
      "run-succeeded",
      "challenger-rejected",
    ]);
    expect(cycle.steps[3]).toMatchObject({ details: { runId: left[0]!.id, adopted: true } });
    expect(cycle.state.runId).toBe(left[0]!.id);
    expect((cycle.state.extraRows as { rows: number }).rows).toBeGreaterThan(0);
    expect(await hub.parts.repos.runs.byCycle(cycle.id)).toHaveLength(1);
  }, 180_000);

  it("ends failed after five transient failures of a step in a row, each one an event", async () => {
    const monitorId = await monitorFor("flaky", { minLabelled: 10 });
    const heal = await refuseRetrainingStep(hub.parts.database.db, "samples-requested");
    let cycle: Awaited<ReturnType<typeof driveCycle>>;
    try {
      await hub.client.post(`/api/v1/monitors/${monitorId}/retrain`, {});
      cycle = await driveCycle(hub, monitorId, ["failed"], { clock });
    } finally {
      await heal();
    }
    expect(cycle.steps.map((s) => s.step)).toEqual([
      "started",
      ...Array(4).fill("collecting-retry"),
      "collecting-failed",
    ]);
    expect(cycle.steps.slice(1, 5).map((s) => s.details?.failures)).toEqual([1, 2, 3, 4]);
    // Each retry waits four times longer than the one before (one driver tick, 2 s, at first).
    const retryAts = cycle.steps.slice(1, 5).map((s) => Date.parse(s.details!.retryAt as string));
    expect(retryAts.slice(1).map((at, i) => at - retryAts[i]!)).toEqual([8_000, 32_000, 128_000]);
    expect(cycle.error).toMatch(
      /^database query failed: injected fault: step samples-requested may not be recorded.*\(5 failures in a row\)$/,
    );
    expect(cycle.state.requestedAt).toBeUndefined();
  }, 120_000);

  it("clears the count when a retried step goes through without moving the cycle on", async () => {
    const monitorId = await monitorFor("recover", { minLabelled: 10 });
    const heal = await refuseRetrainingStep(hub.parts.database.db, "samples-requested");
    try {
      await hub.client.post(`/api/v1/monitors/${monitorId}/retrain`, {});
      await driveCycle(hub, monitorId, (c) => c.steps.at(-1)?.step === "collecting-retry", { clock });
    } finally {
      await heal();
    }
    // Requesting samples keeps the cycle collecting: the count is cleared by an event of its own.
    const cycle = await driveCycle(hub, monitorId, (c) => c.steps.at(-1)?.step === "collecting-recovered", {
      clock,
    });
    // The POST's own pass and the stepper's may both have failed before the fault was healed.
    const steps = cycle.steps.map((s) => s.step);
    const retries = steps.filter((s) => s === "collecting-retry").length;
    expect(retries).toBeGreaterThanOrEqual(1);
    expect(steps).toEqual([
      "started",
      ...Array(retries).fill("collecting-retry"),
      "samples-requested",
      "collecting-recovered",
    ]);
    expect(cycle.steps.at(-1)!.message).toBe(
      `the step went through again after ${retries} transient failure(s)`,
    );
    expect(cycle.status).toBe("collecting");
    expect(cycle.state.transient).toBeNull();
    expect(cycle.state.requestedAt).toBeDefined();
  }, 120_000);

  it("starts another cycle while the monitor still drifts, once retryAfterMs passed since the last ended", async () => {
    const monitorId = await monitorFor("again", {
      minLabelled: 10,
      collectTimeoutMs: 60_000,
      retryAfterMs: 3_600_000,
    });
    const record = await hub.parts.repos.modules.get(MODULE, "1.0.0");
    const spec = (record!.manifest as { monitoring: Monitoring }).monitoring;
    for (const [i, device] of cohortOf("again").entries()) {
      const drift = summaryFor(spec, 300, { seed: 900 + i, shift: [spec.columns[0]!.name], at: clock.now() });
      await device.client.publishAsync(
        deviceTopic(device.id, "telemetry"),
        JSON.stringify(driftWindow(++device.seq, { name: MODULE, version: "1.0.0" }, drift)),
        { qos: 1 },
      );
    }
    type Evaluated = { evaluation: { verdict: string }; alert: { id: string; message: string } | null };
    const evaluate = () => hub.client.post<Evaluated>(`/api/v1/monitors/${monitorId}/evaluate`, {});
    const entered = await waitFor("the monitor in drift", async () => {
      const result = await evaluate();
      return result.evaluation.verdict === "drift" ? result : undefined;
    });
    expect(entered.alert?.message).toMatch(/^drift in churn@1\.0\.0 \(again-watch\)/);
    // No labelled samples come: the cycle the alert started gives up collecting.
    // The collect timeout counts from the request: advance the clock only once the devices were asked.
    await waitFor(
      "the cycle the alert started to ask for samples",
      async () => (await cyclesOf(hub, monitorId))[0]?.steps.at(-1)?.step === "samples-requested",
    );
    clock.advance(61_000);
    const first = await driveCycle(hub, monitorId, ["failed"], { clock });

    // Still drifting, but the last cycle ended less than retryAfterMs ago: nothing new.
    const soon = await evaluate();
    expect(soon.evaluation.verdict).toBe("drift");
    expect(soon.alert).toBeNull();
    expect(await cyclesOf(hub, monitorId)).toHaveLength(1);

    clock.advance(3_600_000);
    await evaluate();
    const cycles = await waitFor("a second cycle", async () => {
      const listed = await cyclesOf(hub, monitorId);
      return listed.length === 2 ? listed : undefined;
    });
    expect(cycles[0]!.status).toBe("collecting");
    const { alerts } = await hub.client.get<{
      alerts: { message: string; details: Record<string, unknown> }[];
    }>(`/api/v1/alerts?monitor=${monitorId}`);
    expect(alerts).toHaveLength(2);
    expect(alerts[0]!.message).toMatch(
      new RegExp(
        `^still drifting in churn@1\\.0\\.0 \\(again-watch\\) 6\\d min after retraining cycle ${first.id} ended failed: `,
      ),
    );
    expect(alerts[0]!.details).toMatchObject({ retryOf: first.id, action: "retrain" });
  }, 120_000);

  it("steps a cycle from one hub's driver at a time: another replica's waits for the lease", async () => {
    const monitorId = await monitorFor("replica", { margin: 0.5, minLabelled: 100 });
    // Started in the store, not through the API: no pass of this hub's own driver runs meanwhile.
    await hub.parts.drift.store.retraining.start(monitorId, null);
    const replica = () =>
      new RetrainingDriver({
        hub: hub.parts,
        store: hub.parts.drift.store,
        clock,
        log: silentLogger,
        submitRun: async (body) => ({ id: String((await hub.parts.jobs.submit(body)).id) }),
      });
    const [first, second] = [replica(), replica()];
    await first.kick();
    expect((await cyclesOf(hub, monitorId))[0]!.steps.map((s) => s.step)).toEqual([
      "started",
      "samples-requested",
    ]);
    for (const [i, device] of cohortOf("replica").entries())
      await sendSamples(hub, device, rowsNear(800 + i, 80, 0, trainingConcept));
    await second.kick();
    expect((await cyclesOf(hub, monitorId))[0]!.status).toBe("collecting");
    // The first hands its leases back on close; the second takes the cycle on.
    await first.close();
    await second.kick();
    expect((await cyclesOf(hub, monitorId))[0]!.steps.at(-1)!.step).toBe("run-submitted");
    await second.close();
    await driveCycle(hub, monitorId, ["rejected"], { clock });
  }, 180_000);
});

/**
 * The end of a retraining cycle, on a real hub (PGlite, embedded broker, the in-hub trainer; manual
 * clock, so bakes pass by hand, and driver passes run by hand): the challenger's canary decides.
 * Rolled back by a failed gate or aborted by an operator, the cycle ends so and the `champion`
 * alias and the monitor stay where they were; completed (here across a hub restart), the alias
 * moves and the monitor follows the new version. Partially applied (every wave passed its gates but a
 * device was offline), it is no success: the canary is rolled back and the cycle ends failed naming
 * the device. A deploy step interrupted after creating its
 * deployment (and a package step after packaging) adopts what it left on resume.
 *
 * Every monitor has its own cohort of MQTT devices; all see x1 far from the training range, where
 * the label follows x2 alone, so the challenger beats the champion each time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageTrainedModel } from "../../hub/retraining/package.js";
import { deployModule } from "../../hub/services/deployments.js";
import { ManualClock } from "../../lib/clock.js";
import { deviceTopic } from "../../wire/topics.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { endAll } from "../support/mqtt-clients.js";
import {
  type CycleView,
  championVersion,
  connectDevice,
  cyclesOf,
  deploymentsOf,
  driveCycle,
  MODULE,
  moduleVersions,
  reconnectDevice,
  rowsNear,
  sendSamples,
  setUpChampion,
  shiftedConcept,
  startCycle,
  type TestDevice,
} from "../support/retraining.js";
import { waitFor } from "../support/wait.js";

const BAKE_MS = 60_000;
const GROUPS = ["rb", "ab", "pa", "ok"];
const clock = new ManualClock();
let hub: TestHub;
let champion: number;
const devices: TestDevice[] = [];
const monitors = new Map<string, string>();

interface DeploymentView {
  id: string;
  status: string;
  strategy: string;
  moduleVersion: string;
  released: number;
  targetDeviceIds: string[];
  createdBy: string;
  outcome: { reason: string; message: string } | null;
}
const deployment = (id: string) => hub.client.get<DeploymentView>(`/api/v1/deployments/${id}`);
const monitorView = (id: string) =>
  hub.client.get<{ moduleVersion: string; state: string }>(`/api/v1/monitors/${id}`);
const desiredVersion = async (deviceId: string) =>
  (
    await hub.client.get<{ desired: { modules: { name: string; version: string }[] } | null }>(
      `/api/v1/devices/${deviceId}`,
    )
  ).desired?.modules.find((m) => m.name === MODULE)?.version;
const cohortOf = (group: string) => devices.filter((d) => d.id.startsWith(`${group}-`));

/** Starts a cycle on the group's monitor and sends each device 80 labelled shifted rows. */
async function collect(group: string, seed: number): Promise<string> {
  const monitorId = monitors.get(group)!;
  await startCycle(hub, monitorId);
  for (const [i, device] of cohortOf(group).entries())
    await sendSamples(hub, device, rowsNear(seed + i, 80, 6, shiftedConcept));
  return monitorId;
}

/** Checks a cycle's canary is out while the champion and the monitor have not moved. */
async function expectCanaryOut(group: string, cycle: CycleView): Promise<DeploymentView> {
  const canary = await deployment(cycle.state.deploymentId as string);
  expect(canary).toMatchObject({
    status: "active",
    strategy: "canary",
    moduleVersion: cycle.state.moduleVersion,
    released: 1,
    targetDeviceIds: [`${group}-a`, `${group}-b`],
    createdBy: `monitor:${group}-watch`,
  });
  expect(await championVersion(hub)).toBe(champion);
  expect((await monitorView(monitors.get(group)!)).moduleVersion).toBe("1.0.0");
  await waitFor(
    "the canary device told",
    async () => (await desiredVersion(`${group}-a`)) === canary.moduleVersion,
  );
  expect(await desiredVersion(`${group}-b`)).toBe("1.0.0");
  return canary;
}

/** Lets the rollout controller act on what it was told, then reads the deployment. */
async function settled(id: string, status: string): Promise<DeploymentView> {
  return waitFor(`deployment ${id} ${status}`, async () => {
    await hub.parts.rollouts.whenIdle();
    const view = await deployment(id);
    return view.status === status ? view : undefined;
  });
}

beforeAll(async () => {
  // Kept on close: the last test restarts the hub on the same data folder.
  hub = await startTestHub({ clock, trainer: true, keepData: true });
  ({ champion } = await setUpChampion(hub));
  for (const group of GROUPS) {
    for (const suffix of ["a", "b"])
      devices.push(await connectDevice(hub, `${group}-${suffix}`, { fleet: "rt", group }));
    const monitor = await hub.client.post<{ id: string }>("/api/v1/monitors", {
      name: `${group}-watch`,
      module: MODULE,
      version: "1.0.0",
      selector: { tags: { group } },
      intervalMs: 3_600_000,
      action: {
        kind: "retrain",
        retrain: {
          dataset: MODULE,
          margin: 0.1,
          minLabelled: 120,
          samplesPerWindow: 200,
          canary: { count: 1, bakeMs: BAKE_MS },
        },
      },
    });
    monitors.set(group, monitor.id);
  }
  const base = await hub.client.post<{ id: string }>("/api/v1/deployments", {
    module: MODULE,
    version: "1.0.0",
    selector: { tags: { fleet: "rt" } },
  });
  await settled(base.id, "completed");
}, 180_000);

afterAll(async () => {
  await endAll(devices.map((d) => d.client));
  await hub?.dispose();
});

describe("a retraining cycle's canary decides", () => {
  it("rolled back by a failed gate: the cycle ends rolled-back, champion and monitor unchanged", async () => {
    const monitorId = await collect("rb", 400);
    const cycle = await driveCycle(hub, monitorId, ["canary"], { clock });
    expect(cycle.steps.map((s) => s.step)).toEqual([
      "started",
      "samples-requested",
      "run-submitted",
      "run-succeeded",
      "challenger-won",
      "packaged",
      "canary-created",
    ]);
    expect(cycle.state.moduleVersion).toBe("1.0.1");
    const canary = await expectCanaryOut("rb", cycle);
    // The canary device cannot load the challenger: the failures gate stops the canary mid-bake.
    const canaryDevice = cohortOf("rb")[0]!;
    const at = new Date().toISOString();
    await canaryDevice.client.publishAsync(
      deviceTopic(canaryDevice.id, "reported"),
      JSON.stringify({
        protocol: 1,
        revision: 100,
        modules: [{ name: MODULE, version: "1.0.1", state: "failed", error: "load failed", since: at }],
        at,
      }),
      { qos: 1 },
    );
    const stopped = await settled(canary.id, "rolled-back");
    expect(stopped.outcome?.reason).toBe("gate-failed");

    const ended = await driveCycle(hub, monitorId, ["rolled-back"], { clock });
    expect(ended.steps.at(-1)).toMatchObject({ step: "canary-rolled-back", status: "rolled-back" });
    expect(ended.error).toContain(stopped.outcome!.message);
    expect(await championVersion(hub)).toBe(champion);
    expect((await monitorView(monitorId)).moduleVersion).toBe("1.0.0");
    await waitFor("the canary device back on 1.0.0", async () => (await desiredVersion("rb-a")) === "1.0.0");
    // Finished: later passes leave it alone, and the monitor may start another cycle.
    await hub.parts.drift.retraining.kick();
    expect((await cyclesOf(hub, monitorId))[0]!.status).toBe("rolled-back");
    expect(await championVersion(hub)).toBe(champion);
  }, 180_000);

  it("aborted by an operator, after package and deploy steps that adopt what an interrupted attempt left", async () => {
    const monitorId = await collect("ab", 500);
    const packaging = await driveCycle(hub, monitorId, ["packaging"], { clock });
    // As if an earlier attempt packaged the challenger and crashed before recording the step.
    const left = await packageTrainedModel(hub.parts, MODULE, packaging.state.challenger as number, {
      module: MODULE,
    });
    expect(left.version).toBe("1.0.2");
    const deploying = await driveCycle(hub, monitorId, ["deploying"], { clock });
    expect(deploying.state.moduleVersion).toBe("1.0.2");
    expect(deploying.steps.at(-1)).toMatchObject({ step: "packaged", details: { adopted: true } });
    expect(await moduleVersions(hub)).toEqual(["1.0.0", "1.0.1", "1.0.2"]);

    // As if an earlier attempt created the canary and crashed before recording the step.
    const leftDeployment = await deployModule(hub.parts, {
      module: MODULE,
      version: "1.0.2",
      selector: { tags: { group: "ab" } },
      strategy: "canary",
      canary: { count: 1 },
      bakeMs: BAKE_MS,
      createdBy: "monitor:ab-watch",
    });
    const cycle = await driveCycle(hub, monitorId, ["canary"], { clock });
    expect(cycle.state.deploymentId).toBe(leftDeployment.id);
    expect(cycle.steps.at(-1)).toMatchObject({ step: "canary-created", details: { adopted: true } });
    expect((await deploymentsOf(hub)).filter((d) => d.moduleVersion === "1.0.2")).toHaveLength(1);
    const canary = await expectCanaryOut("ab", cycle);

    await hub.client.post(`/api/v1/deployments/${canary.id}/abort`, {});
    const ended = await driveCycle(hub, monitorId, ["aborted"], { clock });
    expect(ended.steps.at(-1)).toMatchObject({ step: "canary-aborted", status: "aborted" });
    expect(ended.error).toMatch(/^canary aborted: /);
    expect(await championVersion(hub)).toBe(champion);
    expect((await monitorView(monitorId)).moduleVersion).toBe("1.0.0");
  }, 180_000);

  it("partially applied (a device offline when the rest is released): not promoted, rolled back, the cycle failed naming it", async () => {
    const monitorId = await collect("pa", 700);
    const cycle = await driveCycle(hub, monitorId, ["canary"], { clock });
    expect(cycle.state.moduleVersion).toBe("1.0.3");
    const canary = await expectCanaryOut("pa", cycle);
    // pa-b drops off before the second wave reaches it: left out of the gates, listed as offline.
    const away = cohortOf("pa")[1]!;
    // Gone quiet as well: it no longer answers desired states (the helper reports them active).
    away.client.removeAllListeners("message");
    await away.client.publishAsync(
      deviceTopic(away.id, "status"),
      JSON.stringify({ protocol: 1, online: false, at: new Date().toISOString() }),
      { qos: 1, retain: true },
    );
    await waitFor("the hub sees pa-b offline", async () => {
      const device = await hub.client.get<{ online: boolean }>(`/api/v1/devices/${away.id}`);
      return device.online === false;
    });
    clock.advance(BAKE_MS);
    await waitFor("wave 2 released", async () => {
      await hub.parts.rollouts.whenIdle();
      return (await deployment(canary.id)).released === 2;
    });
    clock.advance(BAKE_MS);
    const partial = await settled(canary.id, "partially-applied");
    expect(partial.outcome?.message).toContain(away.id);

    const ended = await driveCycle(hub, monitorId, ["failed"], { clock });
    expect(ended.steps.at(-1)).toMatchObject({
      step: "canary-partially-applied",
      status: "failed",
      details: { deploymentId: canary.id, rolledBack: true },
    });
    expect(ended.error).toMatch(/^canary partially-applied: /);
    expect(ended.error).toContain(away.id);
    expect(await championVersion(hub)).toBe(champion);
    expect((await monitorView(monitorId)).moduleVersion).toBe("1.0.0");
    expect((await deployment(canary.id)).status).toBe("rolled-back");
    await waitFor("the canary device back on 1.0.0", async () => (await desiredVersion("pa-a")) === "1.0.0");
    // Finished: a later pass does not turn the cycle's own rollback into another ending.
    await hub.parts.drift.retraining.kick();
    expect((await cyclesOf(hub, monitorId))[0]!.status).toBe("failed");
  }, 180_000);

  it("completed, across a hub restart: alias champion moves to the challenger and the monitor follows", async () => {
    const monitorId = await collect("ok", 600);
    const cycle = await driveCycle(hub, monitorId, ["canary"], { clock });
    expect(cycle.state.moduleVersion).toBe("1.0.4");
    const canary = await expectCanaryOut("ok", cycle);

    // The hub stops mid-canary; the new one resumes both the rollout and the cycle.
    await hub.close();
    hub = await startTestHub({ clock, trainer: true, dataDir: hub.dataDir });
    // The canary's devices come back on the new broker; the rollout waits for their reports.
    for (const [i, d] of devices.entries())
      if (d.id.startsWith("ok-")) devices[i] = await reconnectDevice(hub, d);
    await hub.parts.drift.retraining.kick();
    expect((await cyclesOf(hub, monitorId))[0]!.status).toBe("canary");
    expect(await championVersion(hub)).toBe(champion);

    clock.advance(BAKE_MS);
    await waitFor("wave 2 released", async () => {
      await hub.parts.rollouts.whenIdle();
      return (await deployment(canary.id)).released === 2;
    });
    expect((await cyclesOf(hub, monitorId))[0]!.status).toBe("canary");
    expect(await championVersion(hub)).toBe(champion);
    clock.advance(BAKE_MS);
    await settled(canary.id, "completed");

    const ended = await driveCycle(hub, monitorId, ["succeeded"], { clock });
    expect(ended.steps.map((s) => s.step).slice(-2)).toEqual(["canary-created", "canary-completed"]);
    expect(ended.error).toBeNull();
    expect(await championVersion(hub)).toBe(ended.state.challenger);
    expect(ended.state.challenger).not.toBe(champion);
    expect(await monitorView(monitorId)).toMatchObject({ moduleVersion: "1.0.4", state: "no-data" });
    // The other monitors' history is untouched.
    expect((await cyclesOf(hub, monitors.get("rb")!))[0]!.status).toBe("rolled-back");
    expect((await cyclesOf(hub, monitors.get("ab")!))[0]!.status).toBe("aborted");
    expect((await cyclesOf(hub, monitors.get("pa")!))[0]!.status).toBe("failed");
  }, 180_000);
});

/**
 * Rollouts tell the truth, at the scale it matters: 200 simulated agents on a real hub (embedded
 * broker, PGlite; manual clock) with the default all-at-once rollout (bake 0). One device fails to
 * activate: with the default failure threshold the deployment is `partially-applied` naming it, with
 * a threshold of 0 it is rolled back naming it; never `completed`. A device that is offline is left
 * out and listed, and the deployment becomes `completed` once it reconnects and activates; a device
 * that never finishes counts as timed out at the activation deadline.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../lib/clock.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { type SimulatedFleet, startSimulatedFleet } from "../../simulator/fleet.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { waitFor } from "../support/wait.js";

interface Status {
  status: string;
  counts: Record<string, number>;
  progress: { active: number; targeted: number; released: number; failed: number };
  waves: { state: string; activationDeadlineAt?: string }[];
  outcome: {
    reason: string;
    message: string;
    devices?: { deviceId: string; verdict: string; reason?: string }[];
  } | null;
  devices: { deviceId: string; state: string; verdict?: string; reason?: string }[];
}

const MODULE = "truth-mlp";
const COUNT = 200;
const clock = new ManualClock();
let hub: TestHub;
let fleet: SimulatedFleet;
let ids: string[];
/** Every status the hub answered for the deployment being watched. */
const seen: string[] = [];

const status = async (id: string) => {
  const s = await hub.client.get<Status>(`/api/v1/deployments/${id}`);
  seen.push(s.status);
  return s;
};
const settled = (id: string, what: string, check: (s: Status) => boolean) =>
  waitFor(what, async () => {
    await hub.parts.rollouts.whenIdle();
    const s = await status(id);
    return check(s) ? s : undefined;
  });
const deploy = (version: string, gates?: Record<string, unknown>) =>
  hub.client.post<{ id: string }>("/api/v1/deployments", {
    module: MODULE,
    version,
    selector: { tags: { sim: "tru" } },
    ...(gates ? { gates } : {}),
  });

beforeAll(async () => {
  hub = await startTestHub({ clock });
  const model = buildMlpClassifier({ inputSize: 4, hiddenSizes: [4], classes: 2, seed: 3 });
  for (const version of ["1.0.0", "2.0.0", "3.0.0", "4.0.0", "5.0.0"]) {
    const registered = await hub.client.request<{ version: number }>(
      "POST",
      `/api/v1/models/${MODULE}/versions`,
      model.bytes,
    );
    await hub.client.post("/api/v1/modules", {
      name: MODULE,
      version,
      model: { name: MODULE, version: registered.version },
    });
  }
  fleet = await startSimulatedFleet({
    hubUrl: hub.url,
    token: hub.adminToken,
    count: COUNT,
    prefix: "tru",
    behaviour: { telemetryIntervalMs: 0 },
  });
  ids = fleet.devices.map((d) => d.id).sort();
  const base = await deploy("1.0.0");
  await settled(base.id, "the base completed", (s) => s.status === "completed");
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  await hub?.dispose();
});

describe("rollout truth over 200 simulated agents, default all-at-once (bake 0)", () => {
  it("one device fails to activate, default threshold: partially-applied naming it, never completed", async () => {
    const bad = ids[7]!;
    fleet.setBehaviour({ devices: { [bad]: { versions: { "2.0.0": { failureRate: 1 } } } } });
    seen.length = 0;
    const d = await deploy("2.0.0");
    const done = await settled(d.id, "the rollout to end", (s) => s.status !== "active");
    expect(seen).not.toContain("completed");
    expect(done.status).toBe("partially-applied");
    expect(done.counts).toMatchObject({ targeted: COUNT, active: COUNT - 1, failed: 1 });
    expect(done.progress).toEqual({ active: COUNT - 1, targeted: COUNT, released: COUNT, failed: 1 });
    expect(done.outcome?.devices).toEqual([
      { deviceId: bad, verdict: "failed", state: "failed", reason: "simulated activation failure" },
    ]);
    expect(done.outcome?.message).toMatch(
      new RegExp(`1 of ${COUNT} targeted device\\(s\\) are not active: ${bad} failed`),
    );
    expect(done.devices.find((x) => x.deviceId === bad)).toMatchObject({
      state: "failed",
      verdict: "failed",
    });
    // The list tells the same truth as the detail view.
    const list = await hub.client.get<{
      deployments: { id: string; status: string; progress: Status["progress"] }[];
    }>("/api/v1/deployments");
    expect(list.deployments.find((x) => x.id === d.id)).toMatchObject({
      status: "partially-applied",
      progress: { active: COUNT - 1, targeted: COUNT },
    });
  }, 60_000);

  it("one device fails to activate, failure threshold 0: rolled back, naming it", async () => {
    const bad = ids[42]!;
    fleet.setBehaviour({ devices: { [bad]: { versions: { "3.0.0": { failureRate: 1 } } } } });
    seen.length = 0;
    const d = await deploy("3.0.0", { maxFailureRate: 0 });
    const done = await settled(d.id, "the rollout to end", (s) => s.status !== "active");
    expect(seen).not.toContain("completed");
    expect(done.status).toBe("rolled-back");
    expect(done.outcome?.reason).toBe("gate-failed");
    expect(done.outcome?.message).toMatch(/wave 1 failed its gates: failures \(1 of 200 released devices/);
    expect(done.outcome?.message).toContain(`${bad} failed (simulated activation failure)`);
    expect(done.outcome?.devices).toContainEqual(
      expect.objectContaining({ deviceId: bad, verdict: "failed" }),
    );
    // Everyone goes back to 2.0.0, the last-known-good from the earlier deployment.
    await fleet.waitFor(MODULE, (m) => m?.version === "2.0.0");
  }, 60_000);

  it("an offline device is left out and listed; once it reconnects and activates, the deployment is completed", async () => {
    const away = ids[11]!;
    fleet.goOffline(away, 8_000);
    await waitFor("the hub sees it offline", async () => {
      const device = await hub.client.get<{ online: boolean }>(`/api/v1/devices/${away}`);
      return device.online === false;
    });
    const d = await deploy("4.0.0");
    const partial = await settled(d.id, "the rollout to end", (s) => s.status !== "active");
    expect(partial.status).toBe("partially-applied");
    expect(partial.outcome?.devices).toEqual([
      expect.objectContaining({ deviceId: away, verdict: "offline" }),
    ]);
    const done = await settled(d.id, "completed after the device came back", (s) => s.status === "completed");
    expect(done.counts).toMatchObject({ targeted: COUNT, active: COUNT });
    expect(done.outcome?.devices).toBeUndefined();
  }, 60_000);

  it("a device that has not settled by the activation deadline counts as timed out; the wave waits until then", async () => {
    const slow = ids[99]!;
    fleet.setBehaviour({ devices: { [slow]: { versions: { "5.0.0": { stepDelayMs: 4_000 } } } } });
    seen.length = 0;
    const d = await deploy("5.0.0", { activationTimeoutMs: 60_000 });
    await fleet.waitFor(MODULE, (m) => m?.version === "5.0.0");
    const waiting = await settled(
      d.id,
      "every other device active, the slow one still on its way",
      (s) => s.counts.active === COUNT - 1,
    );
    expect(waiting.status).toBe("active");
    expect(waiting.waves[0]!.state).toBe("settling");
    expect(waiting.waves[0]!.activationDeadlineAt).toBe(
      new Date(clock.now().getTime() + 60_000).toISOString(),
    );
    clock.advance(60_000);
    const partial = await settled(d.id, "judged at the deadline", (s) => s.status !== "active");
    expect(partial.status).toBe("partially-applied");
    expect(partial.outcome?.devices).toEqual([
      expect.objectContaining({ deviceId: slow, verdict: "timed-out" }),
    ]);
    expect(partial.outcome!.devices![0]!.reason).toMatch(/activation deadline of 1 min/);
    await settled(d.id, "completed once the slow device activated", (s) => s.status === "completed");
  }, 60_000);
});

/**
 * Must-show rollouts against 200 simulated agents (real hub, embedded broker, PGlite; the clock is
 * manual, so bake times pass by hand): a canary that fails its gate in wave 1 is rolled back and
 * the rest never receive it; a healthy module completes every wave; a prediction shift fails the gate.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../lib/clock.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { type SimulatedFleet, startSimulatedFleet } from "../../simulator/fleet.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { waitFor } from "../support/wait.js";

interface Status {
  status: string;
  wave: number;
  released: number;
  counts: Record<string, number>;
  waves: { state: string; cumulative: number }[];
  outcome: { reason: string; message: string } | null;
  gateResults: { results: { gate: string; status: string; value: number | null }[] } | null;
  devices: { deviceId: string; state: string }[];
}

const MODULE = "canary-mlp";
const BAKE_MS = 60_000;
let hub: TestHub;
let fleet: SimulatedFleet;
const clock = new ManualClock();
/** Every version each device was ever told to run. */
const told = new Map<string, Set<string>>();

async function registerModule(version: string) {
  const model = buildMlpClassifier({ inputSize: 4, hiddenSizes: [4], classes: 2, seed: 3 });
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

const status = (id: string) => hub.client.get<Status>(`/api/v1/deployments/${id}`);
const settled = (id: string, what: string, check: (s: Status) => boolean) =>
  waitFor(what, async () => {
    await hub.parts.rollouts.whenIdle();
    const s = await status(id);
    return check(s) ? s : undefined;
  });

interface Window {
  id: number;
  deviceId: string;
  moduleVersion: string;
}

/** The highest stored telemetry window id of the module (0 when none): a mark to wait past. */
async function newestWindowId(): Promise<number> {
  const { windows } = await hub.client.get<{ windows: Window[] }>(
    `/api/v1/telemetry?module=${MODULE}&limit=10000`,
  );
  return Math.max(0, ...windows.map((w) => w.id));
}

/**
 * Waits until each device has sent a window of `version` stored after `mark`: the gates then judge
 * real traffic on the new version, where a fixed pause only hoped it had arrived.
 */
async function windowsAfter(mark: number, deviceIds: readonly string[], version: string): Promise<void> {
  await waitFor(`a ${version} telemetry window from each of ${deviceIds.length} devices`, async () => {
    const { windows } = await hub.client.get<{ windows: Window[] }>(
      `/api/v1/telemetry?module=${MODULE}&limit=10000`,
    );
    const sent = new Set(
      windows.filter((w) => w.id > mark && w.moduleVersion === version).map((w) => w.deviceId),
    );
    return deviceIds.every((id) => sent.has(id));
  });
}

beforeAll(async () => {
  hub = await startTestHub({ clock });
  for (const version of ["1.0.0", "2.0.0", "3.0.0", "4.0.0"]) await registerModule(version);
  fleet = await startSimulatedFleet({
    hubUrl: hub.url,
    token: hub.adminToken,
    count: 200,
    prefix: "can",
    behaviour: { telemetryIntervalMs: 1_000, requestsPerWindow: 40 },
    onDesired: (deviceId, desired) => {
      const seen = told.get(deviceId) ?? new Set();
      for (const m of desired.modules) seen.add(m.version);
      told.set(deviceId, seen);
    },
  });
  const base = await hub.client.post<{ id: string }>("/api/v1/deployments", {
    module: MODULE,
    version: "1.0.0",
    selector: { tags: { sim: "can" } },
  });
  await fleet.waitFor(MODULE, (m) => m?.version === "1.0.0" && m.state === "active");
  await settled(base.id, "baseline completed", (s) => s.status === "completed" && s.counts.active === 200);
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  await hub?.dispose();
});

describe("canary rollouts over 200 simulated agents", () => {
  it("a canary that fails activation in wave 1 is rolled back, and the other 180 never receive it", async () => {
    fleet.setBehaviour({ versions: { "2.0.0": { failureRate: 1 } } });
    const created = await hub.client.post<{ id: string; strategy: string }>("/api/v1/deployments", {
      module: MODULE,
      version: "2.0.0",
      selector: { tags: { sim: "can" } },
      canary: { percent: 10 },
      bakeMs: BAKE_MS,
    });
    expect(created.strategy).toBe("canary");
    // No clock advance: the failures gate stops the rollout during the bake, as soon as reports arrive.
    const failed = await settled(created.id, "the gate to fail", (s) => s.status === "rolled-back");
    expect(failed.outcome?.reason).toBe("gate-failed");
    expect(failed.outcome?.message).toMatch(/wave 1 failed its gates: failures/);
    expect(failed.wave).toBe(0);
    expect(failed.counts).toMatchObject({ targeted: 200, "rolled-back": 20, unreleased: 180 });
    expect(failed.waves.map((w) => w.state)).toEqual(["failed", "waiting"]);
    const canary = failed.devices.slice(0, 20).map((d) => d.deviceId);
    // The canary devices go back to 1.0.0 (their last-known-good, from the base deployment).
    await fleet.waitFor(MODULE, (m) => m?.version === "1.0.0" && m.state === "active");
    for (const [deviceId, versions] of told) {
      expect(versions.has("2.0.0"), deviceId).toBe(canary.includes(deviceId));
    }
    const device = await hub.client.get<{ desired: { modules: { version: string }[] } }>(
      `/api/v1/devices/${canary[0]}`,
    );
    expect(device.desired.modules.map((m) => m.version)).toEqual(["1.0.0"]);
    clock.advance(10 * BAKE_MS);
    expect((await settled(created.id, "still stopped", () => true)).released).toBe(20);
  }, 60_000);

  it("a healthy module passes every wave's gates and completes", async () => {
    const created = await hub.client.post<{ id: string }>("/api/v1/deployments", {
      module: MODULE,
      version: "3.0.0",
      selector: { tags: { sim: "can" } },
      strategy: "waves",
      waves: [{ percent: 10 }, { percent: 50 }, { percent: 100 }],
      bakeMs: BAKE_MS,
      gates: { minRequests: 40 },
    });
    for (const [wave, cumulative] of [
      [0, 20],
      [1, 100],
      [2, 200],
    ] as const) {
      const baking = await settled(
        created.id,
        `wave ${wave + 1} baking`,
        (s) => s.wave === wave && s.waves[wave]?.state === "baking",
      );
      expect(baking.released).toBe(cumulative);
      expect(baking.counts.unreleased).toBe(200 - cumulative);
      const released = baking.devices.slice(0, cumulative).map((d) => d.deviceId);
      const mark = await newestWindowId();
      await waitFor(`wave ${wave + 1} active`, async () =>
        released.every(
          (id) =>
            fleet.states(MODULE).get(id)?.version === "3.0.0" &&
            fleet.states(MODULE).get(id)?.state === "active",
        ),
      );
      // The released devices send telemetry of the new version before the bake ends and the gates judge.
      await windowsAfter(mark, released, "3.0.0");
      clock.advance(BAKE_MS);
    }
    const done = await settled(
      created.id,
      "completed and counted",
      (s) => s.status === "completed" && s.counts.active === 200,
    );
    expect(done.counts).toMatchObject({ targeted: 200, active: 200, unreleased: 0, failed: 0 });
    expect(done.waves.map((w) => w.state)).toEqual(["passed", "passed", "passed"]);
    const gates = done.gateResults!.results;
    expect(gates.find((g) => g.gate === "prediction-shift")?.status).toBe("pass");
    expect(gates.find((g) => g.gate === "error-rate")?.status).toBe("pass");
  }, 90_000);

  it("a prediction shift beyond the threshold fails the canary's gate after its bake", async () => {
    fleet.setBehaviour({ versions: { "4.0.0": { predictionShift: 0.5 } } });
    const created = await hub.client.post<{ id: string }>("/api/v1/deployments", {
      module: MODULE,
      version: "4.0.0",
      selector: { tags: { sim: "can" } },
      canary: { count: 10 },
      bakeMs: BAKE_MS,
      gates: { minRequests: 40, maxPredictionShift: 0.2 },
    });
    const baking = await settled(created.id, "canary baking", (s) => s.waves[0]?.state === "baking");
    const mark = await newestWindowId();
    await fleet.waitFor(MODULE, (m) => m?.state === "active");
    await windowsAfter(
      mark,
      baking.devices.slice(0, 10).map((d) => d.deviceId),
      "4.0.0",
    );
    clock.advance(BAKE_MS);
    const failed = await settled(created.id, "the shift gate to fail", (s) => s.status === "rolled-back");
    const shift = failed.gateResults!.results.find((g) => g.gate === "prediction-shift");
    expect(shift?.status).toBe("fail");
    expect(shift!.value!).toBeGreaterThan(0.2);
    expect(failed.counts).toMatchObject({ "rolled-back": 10, unreleased: 190 });
    await fleet.waitFor(MODULE, (m) => m?.version === "3.0.0" && m.state === "active");
  }, 60_000);
});

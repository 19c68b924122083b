/**
 * Rollout control with 20 simulated agents on a real hub (manual clock): layered deployments and
 * their visible merge; pause, resume, abort and rollback; refusals that change nothing; and a hub
 * closed mid-rollout and restarted on the same data folder, which resumes without repeating or
 * skipping a wave.
 */
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubApiError } from "../../hub-api/client.js";
import { ManualClock } from "../../lib/clock.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { type SimulatedFleet, startSimulatedFleet } from "../../simulator/fleet.js";
import { moduleWindow } from "../support/device-messages.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { waitFor } from "../support/wait.js";

interface Status {
  id: string;
  status: string;
  wave: number;
  released: number;
  generation: number;
  counts: Record<string, number>;
  waves: { state: string; bakeEndsAt?: string }[];
  outcome: { reason: string } | null;
}
interface DeviceView {
  desired: { revision: number; modules: { name: string; version: string }[] };
  merge: {
    name: string;
    version: string;
    deploymentId: string;
    overrides: { deploymentId: string; version: string }[];
  }[];
}

const MIN = 60_000;
const clock = new ManualClock();
let hub: TestHub;
let fleet: SimulatedFleet;
let beta: SimulatedFleet;
let ports: { port: number; mqttPort: number };
let dataDir: string;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function registerModule(name: string, version: string) {
  const model = buildMlpClassifier({ inputSize: 4, hiddenSizes: [4], classes: 2, seed: 3 });
  const registered = await hub.client.request<{ version: number }>(
    "POST",
    `/api/v1/models/${name}/versions`,
    model.bytes,
  );
  await hub.client.post("/api/v1/modules", { name, version, model: { name, version: registered.version } });
}

const deploy = (body: Record<string, unknown>) => hub.client.post<Status>("/api/v1/deployments", body);
const status = (id: string) => hub.client.get<Status>(`/api/v1/deployments/${id}`);
const settled = (id: string, what: string, check: (s: Status) => boolean) =>
  waitFor(what, async () => {
    await hub.parts.rollouts.whenIdle();
    const s = await status(id);
    return check(s) ? s : undefined;
  });
/** Polls: the simulator re-checks its own waitFor on state changes only, and a removal is none. */
const gone = (sims: SimulatedFleet, module: string) =>
  waitFor(`${module} gone from the fleet`, async () =>
    [...sims.states(module).values()].every((m) => m === undefined),
  );
const device = (id: string) => hub.client.get<DeviceView>(`/api/v1/devices/${id}`);
async function refused(promise: Promise<unknown>, httpStatus: number, message: RegExp) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HubApiError);
  expect((error as HubApiError).status).toBe(httpStatus);
  expect((error as HubApiError).message).toMatch(message);
}

beforeAll(async () => {
  ports = { port: await freePort(), mqttPort: await freePort() };
  hub = await startTestHub({ clock, ...ports, keepData: true });
  dataDir = hub.dataDir;
  for (const v of ["1.0.0", "2.0.0", "3.0.0"]) await registerModule("layered", v);
  for (const v of ["1.0.0", "2.0.0", "3.0.0", "4.0.0"]) await registerModule("ctl", v);
  const behaviour = { telemetryIntervalMs: 0 };
  fleet = await startSimulatedFleet({
    hubUrl: hub.url,
    token: hub.adminToken,
    count: 16,
    prefix: "main",
    tags: { site: "plant" },
    behaviour,
  });
  beta = await startSimulatedFleet({
    hubUrl: hub.url,
    token: hub.adminToken,
    count: 4,
    prefix: "beta",
    tags: { site: "plant", ring: "beta" },
    behaviour,
  });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  await beta?.stop();
  await hub?.dispose();
  await (await import("node:fs/promises")).rm(dataDir, { recursive: true, force: true });
});

describe("layered deployments", () => {
  it("a base on site=plant and an overlay on ring=beta merge per device, visibly", async () => {
    const base = await deploy({ module: "layered", version: "1.0.0", selector: { tags: { site: "plant" } } });
    const overlay = await deploy({
      module: "layered",
      version: "2.0.0",
      selector: { tags: { ring: "beta" } },
      priority: 10,
    });
    expect(base.counts ?? {}).toBeDefined();
    await fleet.waitFor("layered", (m) => m?.version === "1.0.0" && m.state === "active");
    await beta.waitFor("layered", (m) => m?.version === "2.0.0" && m.state === "active");
    const b = await device("beta-0000");
    expect(b.desired.modules.map((m) => `${m.name}@${m.version}`)).toEqual(["layered@2.0.0"]);
    expect(b.merge).toEqual([
      {
        name: "layered",
        version: "2.0.0",
        deploymentId: overlay.id,
        priority: 10,
        overrides: [{ deploymentId: base.id, version: "1.0.0", priority: 0 }],
      },
    ]);
    const m = await device("main-0000");
    expect(m.merge).toEqual([
      { name: "layered", version: "1.0.0", deploymentId: base.id, priority: 0, overrides: [] },
    ]);
    // A newer base at the same priority wins over the old base, but not over the overlay.
    const newer = await deploy({
      module: "layered",
      version: "3.0.0",
      selector: { tags: { site: "plant" } },
    });
    await fleet.waitFor("layered", (x) => x?.version === "3.0.0" && x.state === "active");
    expect((await device("beta-0001")).merge[0]).toMatchObject({
      version: "2.0.0",
      deploymentId: overlay.id,
    });
    expect((await device("beta-0001")).merge[0]!.overrides.map((o) => o.version)).toEqual(["3.0.0", "1.0.0"]);
    // The hub's counts follow the agents' reports a moment after the agents' own view.
    const shown = await settled(newer.id, "the hub counts 16 active", (s) => s.counts.active === 16);
    expect(shown.counts).toMatchObject({ targeted: 20, overridden: 4, active: 16 });
    // Rolling the overlay back hands the beta devices to the best remaining layer.
    await hub.client.post(`/api/v1/deployments/${overlay.id}/rollback`, {});
    await beta.waitFor("layered", (x) => x?.version === "3.0.0" && x.state === "active");
    expect((await device("beta-0000")).merge[0]).toMatchObject({ version: "3.0.0", deploymentId: newer.id });
  });
});

describe("a bake without traffic", () => {
  it("with onNoData wait, bakes again until the new version has minRequests requests, then moves on", async () => {
    await registerModule("quiet", "1.0.0");
    const d = await deploy({
      module: "quiet",
      version: "1.0.0",
      selector: { tags: { ring: "beta" } },
      canary: { count: 1 },
      bakeMs: MIN,
      gates: { minRequests: 5, onNoData: "wait" },
    });
    await settled(d.id, "the canary baking", (s) => s.waves[0]?.state === "baking" && s.released === 1);
    for (let bake = 0; bake < 2; bake++) {
      clock.advance(MIN);
      // Judged at the bake's end with no traffic: the same wave bakes again from now.
      const bakeEndsAt = new Date(clock.now().getTime() + MIN).toISOString();
      const held = await settled(
        d.id,
        "the canary baking again",
        (s) => s.waves[0]?.bakeEndsAt === bakeEndsAt,
      );
      expect([held.status, held.wave, held.released]).toEqual(["active", 0, 1]);
    }
    const view = await hub.client.get<{ targetDeviceIds: string[]; gateResults: { waiting?: boolean } }>(
      `/api/v1/deployments/${d.id}`,
    );
    expect(view.gateResults.waiting).toBe(true);
    // The canary device serves: its telemetry reaches the hub, and the next bake's end judges it.
    // The device's own clock: the wall clock (the deployment's createdAt is the repository's).
    const at = new Date().toISOString();
    hub.parts.telemetry.add(
      view.targetDeviceIds[0]!,
      moduleWindow(1, { name: "quiet", version: "1.0.0" }, 10, at),
    );
    await hub.parts.telemetry.flush();
    clock.advance(MIN);
    await settled(d.id, "the rest released", (s) => s.wave === 1 && s.released === 4);
  });
});

describe("pause, resume, abort, rollback", () => {
  it("pause holds a wave past its bake; resume restarts the bake; rollback returns released devices", async () => {
    const d = await deploy({
      module: "ctl",
      version: "1.0.0",
      selector: { tags: { site: "plant" } },
      waves: [{ percent: 25 }, { percent: 100 }],
      bakeMs: MIN,
    });
    await settled(d.id, "wave 1 baking", (s) => s.waves[0]?.state === "baking" && s.released === 5);
    await hub.client.post(`/api/v1/deployments/${d.id}/pause`, {});
    clock.advance(10 * MIN);
    const paused = await settled(d.id, "paused", (s) => s.status === "paused");
    expect([paused.wave, paused.released]).toEqual([0, 5]);
    await hub.client.post(`/api/v1/deployments/${d.id}/resume`, {});
    clock.advance(MIN / 2);
    expect((await settled(d.id, "still wave 1", (s) => s.status === "active")).wave).toBe(0);
    clock.advance(MIN / 2);
    await settled(d.id, "wave 2 released", (s) => s.wave === 1 && s.released === 20);
    clock.advance(MIN);
    await settled(d.id, "completed", (s) => s.status === "completed");
    await fleet.waitFor("ctl", (m) => m?.version === "1.0.0" && m.state === "active");
    const back = await hub.client.post<Status>(`/api/v1/deployments/${d.id}/rollback`, {});
    expect(back.status).toBe("rolled-back");
    expect(back.counts["rolled-back"]).toBe(20);
    // Nothing else supplies "ctl", so rolling back removes it from every device.
    await gone(fleet, "ctl");
    expect((await device("main-0003")).desired.modules.map((m) => m.name)).not.toContain("ctl");
  });

  it("abort stops a rollout for good; released devices keep the version", async () => {
    const d = await deploy({
      module: "ctl",
      version: "2.0.0",
      selector: { tags: { site: "plant" } },
      canary: { count: 3 },
      bakeMs: MIN,
    });
    await settled(d.id, "canary baking", (s) => s.released === 3 && s.waves[0]?.state === "baking");
    const aborted = await hub.client.post<Status>(`/api/v1/deployments/${d.id}/abort`, {});
    expect(aborted.status).toBe("aborted");
    clock.advance(10 * MIN);
    const after = await settled(d.id, "aborted", (s) => s.status === "aborted");
    expect(after.counts).toMatchObject({ unreleased: 17 });
    expect((await device("beta-0000")).desired.modules.map((m) => `${m.name}@${m.version}`)).toContain(
      "ctl@2.0.0",
    );
    expect((await device("main-0000")).desired.modules.map((m) => m.name)).not.toContain("ctl");
    await hub.client.post(`/api/v1/deployments/${d.id}/rollback`, {});
    await gone(beta, "ctl");
  });
});

describe("bad input changes nothing", () => {
  it("refuses unknown deployments, invalid strategies, conflicting flags and wrong-state commands", async () => {
    const before = await hub.client.get<{ deployments: unknown[] }>("/api/v1/deployments");
    const revision = (await device("main-0001")).desired.revision;
    const unknown = "00000000-0000-4000-8000-000000000000";
    await refused(hub.client.post(`/api/v1/deployments/${unknown}/pause`, {}), 404, /does not exist/);
    await refused(hub.client.get(`/api/v1/deployments/${unknown}`), 404, /does not exist/);
    const body = { module: "ctl", version: "3.0.0", selector: { tags: { site: "plant" } } };
    await refused(deploy({ ...body, strategy: "blue-green" }), 400, /strategy/);
    await refused(deploy({ ...body, gates: { onNoData: "maybe" } }), 400, /onNoData/);
    await refused(
      deploy({ ...body, canary: { count: 2 }, waves: [{ percent: 100 }] }),
      400,
      /either a canary or waves/,
    );
    await refused(deploy({ ...body, strategy: "waves" }), 400, /needs a list of wave percentages/);
    await refused(
      deploy({ ...body, waves: [{ percent: 50 }, { percent: 20 }, { percent: 100 }] }),
      400,
      /must increase/,
    );
    await refused(
      deploy({ ...body, waves: [{ percent: 10 }, { percent: 50 }] }),
      400,
      /last wave must be 100/,
    );
    await refused(deploy({ ...body, canary: { count: 2, percent: 5 } }), 400, /either count or percent/);
    await refused(deploy({ ...body, gates: { maxFailureRate: 2 } }), 400, /maxFailureRate/);
    await refused(deploy({ ...body, ratePerMinute: -1 }), 400, /ratePerMinute/);
    const done = (before.deployments as Status[]).find((d) => d.status === "rolled-back")!;
    await refused(hub.client.post(`/api/v1/deployments/${done.id}/resume`, {}), 409, /needs paused/);
    await refused(hub.client.post(`/api/v1/deployments/${done.id}/pause`, {}), 409, /needs active/);
    const after = await hub.client.get<{ deployments: Status[] }>("/api/v1/deployments");
    expect(after.deployments).toHaveLength(before.deployments.length);
    expect((await status(done.id)).generation).toBe(done.generation);
    expect((await device("main-0001")).desired.revision).toBe(revision);
  });
});

describe("hub restart mid-rollout", () => {
  it("resumes at the persisted wave, repeating and skipping nothing", async () => {
    const d = await deploy({
      module: "ctl",
      version: "3.0.0",
      selector: { tags: { site: "plant" } },
      waves: [{ percent: 25 }, { percent: 50 }, { percent: 100 }],
      bakeMs: MIN,
    });
    await settled(d.id, "wave 1 baking", (s) => s.wave === 0 && s.waves[0]?.state === "baking");
    clock.advance(MIN);
    const mid = await settled(
      d.id,
      "wave 2 baking",
      (s) => s.wave === 1 && s.waves[1]?.state === "baking" && s.released === 10,
    );
    clock.advance(MIN / 2);
    const revisions = new Map<string, number>();
    for (const id of ["main-0000", "main-0009", "main-0010"])
      revisions.set(id, (await device(id)).desired.revision);

    await hub.close();
    hub = await startTestHub({ clock, ...ports, dataDir, keepData: true });
    const resumed = await settled(d.id, "resumed", () => true);
    // Same wave, same devices out, same step: nothing was replayed on start.
    expect([resumed.status, resumed.wave, resumed.released, resumed.generation]).toEqual([
      "active",
      1,
      10,
      mid.generation,
    ]);
    for (const [id, revision] of revisions) expect((await device(id)).desired.revision).toBe(revision);
    // The bake goes on from where it was: half a minute left, not a fresh minute, not over.
    clock.advance(MIN / 2 - 1);
    expect((await settled(d.id, "still wave 2", () => true)).wave).toBe(1);
    clock.advance(1);
    await settled(d.id, "wave 3 released", (s) => s.wave === 2 && s.released === 20);
    clock.advance(MIN);
    const done = await settled(d.id, "completed", (s) => s.status === "completed");
    expect(done.waves.map((w) => w.state)).toEqual(["passed", "passed", "passed"]);
    await fleet.waitFor("ctl", (m) => m?.version === "3.0.0" && m.state === "active", 30_000);
  });
});

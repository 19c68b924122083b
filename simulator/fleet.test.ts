import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildMlpClassifier } from "../modules/onnx/models.js";
import { startTestHub, type TestHub } from "../test/support/hub.js";
import { waitFor } from "../test/support/wait.js";
import type { ReportedModule } from "../wire/messages.js";
import { type SimulatedFleet, startSimulatedFleet } from "./fleet.js";

interface DeploymentStatus {
  counts: Record<string, number>;
  devices: { deviceId: string; state: string; error?: string }[];
  skipped: { deviceId: string; reasons: string[] }[];
}

let hub: TestHub;
let fleet: SimulatedFleet | undefined;
const failedV2 = new Map<string, ReportedModule>();

async function registerModule(version: string) {
  const model = buildMlpClassifier({ inputSize: 4, hiddenSizes: [4], classes: 2, seed: 3 });
  const registered = await hub.client.request<{ version: number }>(
    "POST",
    "/api/v1/models/sim-mlp/versions",
    model.bytes,
  );
  await hub.client.post("/api/v1/modules", {
    name: "sim-mlp",
    version,
    model: { name: "sim-mlp", version: registered.version },
  });
}

const deploy = (version: string, tags: Record<string, string>) =>
  hub.client.post<{ id: string; targetDeviceIds: string[] }>("/api/v1/deployments", {
    module: "sim-mlp",
    version,
    selector: { tags },
  });

beforeAll(async () => {
  hub = await startTestHub();
  await registerModule("1.0.0");
  await registerModule("2.0.0");
});
afterAll(async () => {
  await fleet?.stop();
  await hub.dispose();
});

describe("simulated fleet against a real hub", () => {
  it("200 agents reach active after a deploy, as the hub sees it", async () => {
    fleet = await startSimulatedFleet({
      hubUrl: hub.url,
      token: hub.adminToken,
      count: 200,
      prefix: "sim",
      profile: "raspberry-pi-5",
      behaviour: { telemetryIntervalMs: 0 },
      onState: (deviceId, module) => {
        if (module.version === "2.0.0" && module.state === "failed") failedV2.set(deviceId, module);
      },
    });
    expect(fleet.devices).toHaveLength(200);
    expect(fleet.connected()).toBe(200);
    await waitFor("all 200 online at the hub", async () => {
      const { devices } = await hub.client.get<{
        devices: { online: boolean; profileCheck: { ok: boolean } }[];
      }>("/api/v1/devices?tag=sim=sim");
      return devices.length === 200 && devices.every((d) => d.online && d.profileCheck.ok);
    });

    const deployment = await deploy("1.0.0", { sim: "sim" });
    expect(deployment.targetDeviceIds).toHaveLength(200);
    await fleet.waitFor("sim-mlp", (m) => m?.state === "active" && m.version === "1.0.0");
    const status = await waitFor("the hub to count 200 active", async () => {
      const s = await hub.client.get<DeploymentStatus>(`/api/v1/deployments/${deployment.id}`);
      return s.counts.active === 200 ? s : undefined;
    });
    expect(status.skipped).toEqual([]);
  });

  it("injects activation failures for one version only, keeping the previous version serving", async () => {
    fleet!.setBehaviour({ versions: { "2.0.0": { failureRate: 1 } } });
    await deploy("2.0.0", { sim: "sim" });
    // Every device fails 2.0.0 with 1.0.0 still serving (a rollout controller may then roll it back).
    await waitFor("every device to report 2.0.0 failed", async () => failedV2.size === 200);
    expect([...failedV2.values()].every((m) => m.error === "simulated activation failure")).toBe(true);
    expect([...failedV2.values()].every((m) => m.servingVersion === "1.0.0")).toBe(true);
  });

  it("skips devices that fail preflight and reports why, in the result and on GET", async () => {
    const tiny = await startSimulatedFleet({
      hubUrl: hub.url,
      token: hub.adminToken,
      count: 2,
      prefix: "tiny",
      profile: "raspberry-pi-zero-2w",
      tags: { group: "mixed" },
      behaviour: { telemetryIntervalMs: 0 },
    });
    try {
      const big = await startSimulatedFleet({
        hubUrl: hub.url,
        token: hub.adminToken,
        count: 1,
        prefix: "big",
        profile: "raspberry-pi-5",
        tags: { group: "mixed" },
        behaviour: { telemetryIntervalMs: 0 },
      });
      const model = buildMlpClassifier({ inputSize: 4, hiddenSizes: [4], classes: 2, seed: 3 });
      const registered = await hub.client.request<{ version: number }>(
        "POST",
        "/api/v1/models/sim-mlp/versions",
        model.bytes,
      );
      await hub.client.post("/api/v1/modules", {
        name: "sim-big",
        version: "1.0.0",
        model: { name: "sim-mlp", version: registered.version },
        resources: { memoryMb: 1000 },
      });
      await waitFor("capabilities at the hub", async () => {
        const { devices } = await hub.client.get<{ devices: { capabilities: unknown }[] }>(
          "/api/v1/devices?tag=group=mixed",
        );
        return devices.length === 3 && devices.every((d) => d.capabilities);
      });
      const created = await hub.client.post<{ id: string; targetDeviceIds: string[]; skipped: unknown[] }>(
        "/api/v1/deployments",
        { module: "sim-big", version: "1.0.0", selector: { tags: { group: "mixed" } } },
      );
      expect(created.targetDeviceIds).toEqual(["big-0000"]);
      expect(created.skipped).toEqual([
        { deviceId: "tiny-0000", reasons: ["memory: model needs about 1000 MiB, budget is 128 MiB"] },
        { deviceId: "tiny-0001", reasons: ["memory: model needs about 1000 MiB, budget is 128 MiB"] },
      ]);
      await big.waitFor("sim-big", (m) => m?.state === "active");
      const shown = await waitFor("the hub to count the active device", async () => {
        const s = await hub.client.get<DeploymentStatus>(`/api/v1/deployments/${created.id}`);
        return s.counts.active === 1 ? s : undefined;
      });
      expect(shown.skipped.map((s) => s.deviceId)).toEqual(["tiny-0000", "tiny-0001"]);
      expect(shown.counts).toMatchObject({ targeted: 1, active: 1, skipped: 2 });
      // The skipped devices never received it.
      expect([...tiny.states("sim-big").values()]).toEqual([undefined, undefined]);

      // Nothing passes: refused, nothing changes.
      const refused = await hub.client
        .post("/api/v1/deployments", {
          module: "sim-big",
          version: "1.0.0",
          selector: { tags: { sim: "tiny" } },
        })
        .catch((error: Error) => error);
      expect(String(refused)).toMatch(/no targeted device passes preflight/);
      await big.stop();
    } finally {
      await tiny.stop();
    }
  });

  it("sends telemetry windows with output summaries, and outages fire the last will", async () => {
    const small = await startSimulatedFleet({
      hubUrl: hub.url,
      token: hub.adminToken,
      count: 1,
      prefix: "tele",
      behaviour: { telemetryIntervalMs: 100, predictionShift: 0.5 },
    });
    try {
      await hub.client.post("/api/v1/deployments", {
        module: "sim-mlp",
        version: "1.0.0",
        selector: { deviceIds: ["tele-0000"] },
      });
      const windows = await waitFor("a telemetry window", async () => {
        const { windows } = await hub.client.get<{
          windows: { payload: { outputs?: unknown[]; requests: number } }[];
        }>("/api/v1/telemetry?device=tele-0000");
        return windows.length > 0 ? windows : undefined;
      });
      expect(windows[0]?.payload.requests).toBe(100);
      expect(windows[0]?.payload.outputs?.[0]).toMatchObject({ name: "label", count: 100 });

      small.goOffline("tele-0000", 60_000);
      await waitFor("the hub to see the device offline", async () => {
        const device = await hub.client.get<{ online: boolean }>("/api/v1/devices/tele-0000");
        return !device.online;
      });
    } finally {
      await small.stop();
    }
  });

  it("refuses bad behaviour values", () => {
    expect(() => fleet!.setBehaviour({ failureRate: 2 })).toThrow(/failureRate/);
    expect(() => fleet!.setBehaviour({ latencyMs: -1 })).toThrow(/latencyMs/);
  });
});

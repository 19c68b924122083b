import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildMlpClassifier } from "../modules/onnx/models.js";
import { startTestHub, type TestHub } from "../test/support/hub.js";
import { waitFor } from "../test/support/wait.js";
import { type SimulatedFleet, startSimulatedFleet } from "./fleet.js";

interface DeploymentStatus {
  counts: Record<string, number>;
  devices: { deviceId: string; state: string; error?: string }[];
  skipped: { deviceId: string; reasons: string[] }[];
}

let hub: TestHub;
let fleet: SimulatedFleet | undefined;

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
    const deployment = await deploy("2.0.0", { sim: "sim" });
    await fleet!.waitFor("sim-mlp", (m) => m?.version === "2.0.0" && m.state === "failed");
    const status = await waitFor("the hub to count 200 failed", async () => {
      const s = await hub.client.get<DeploymentStatus>(`/api/v1/deployments/${deployment.id}`);
      return s.counts.failed === 200 ? s : undefined;
    });
    expect(status.devices[0]?.error).toBe("simulated activation failure");
    const states = [...fleet!.states("sim-mlp").values()];
    expect(states.every((m) => m?.servingVersion === "1.0.0")).toBe(true);
  });

  it("refuses bad behaviour values", () => {
    expect(() => fleet!.setBehaviour({ failureRate: 2 })).toThrow(/failureRate/);
    expect(() => fleet!.setBehaviour({ latencyMs: -1 })).toThrow(/latencyMs/);
  });
});

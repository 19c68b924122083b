/**
 * Defect: a lost `state.json` reset the telemetry seq, so the hub dropped the new windows as
 * duplicates, and with the hub unreachable the agent served nothing: it took the verified modules
 * on disk for undesired ones and deleted them. Here a real agent process loses its state file
 * while stopped and starts with its hub down: it rebuilds what it serves from the signed modules
 * on disk and keeps serving; when the hub is back, the windows of the new run (seq from 0 again,
 * new epoch [WIRE-5.5]) are stored, so the hub's counts equal every request the agent answered.
 */
import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, spawnAgent } from "../../lib/agent-process.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { startScoringLoad } from "../support/scoring-load.js";
import {
  createDevice,
  publishTabularModule,
  servedVersion,
  storedRequests,
} from "../support/tabular-module.js";
import { waitFor } from "../support/wait.js";

let hub: TestHub;
let agent: AgentProcess | undefined;
let device: { id: string; secret: string };

function startAgent(previous?: AgentProcess): Promise<AgentProcess> {
  return spawnAgent({
    hubUrl: hub.url,
    mqttUrl: hub.mqttUrl,
    deviceId: device.id,
    secret: device.secret,
    trustKey: hub.parts.signing.publicKeyPem,
    telemetryIntervalMs: 200,
    ...(previous ? { dataDir: previous.dataDir, port: previous.port } : {}),
  });
}

const serving = (target: AgentProcess) => () => servedVersion(target.scoringUrl, "lost");

beforeAll(async () => {
  hub = await startTestHub({ keepData: true });
  await publishTabularModule(hub, "lost");
  device = await createDevice(hub, "lost-state-1");
});

afterAll(async () => {
  await agent?.stop();
  await hub?.dispose();
});

describe("an agent that lost its state file", () => {
  it("serves the signed modules on disk with its hub down, and its new windows are stored once the hub is back", {
    timeout: 240_000,
  }, async () => {
    agent = await startAgent();
    await hub.client.post("/api/v1/deployments", {
      module: "lost",
      version: "1.0.0",
      selector: { deviceIds: [device.id] },
    });
    await waitFor(() => `agent serving\n${agent!.output()}`, serving(agent), 90_000);
    let load = startScoringLoad(agent.scoringUrl, "lost");
    await waitFor("the first windows stored", async () => (await storedRequests(hub, device.id)) > 0);
    let { answered, failures } = await load.stop();
    await waitFor(
      "every request of the first run stored",
      async () => (await storedRequests(hub, device.id)) === answered,
    );

    await agent.stop();
    await rm(join(agent.dataDir, "state.json"));
    const ports = { port: Number(new URL(hub.url).port), mqttPort: Number(new URL(hub.mqttUrl).port) };
    const hubData = hub.dataDir;
    await hub.close();

    agent = await startAgent(agent);
    expect(
      await waitFor(() => `serving from disk with the hub down\n${agent!.output()}`, serving(agent), 60_000),
    ).toBe("1.0.0");
    expect(agent.output()).toContain("state.rebuilt");
    load = startScoringLoad(agent.scoringUrl, "lost");
    await waitFor("requests answered while the hub is down", async () => load.answered >= 20);

    hub = await startTestHub({ dataDir: hubData, ...ports, keepData: false });
    const second = await load.stop();
    answered += second.answered;
    failures = [...failures, ...second.failures];
    expect(failures).toEqual([]);
    await waitFor(
      () => `hub telemetry to add up to ${answered} requests\n${agent!.output().slice(-3000)}`,
      async () => (await storedRequests(hub, device.id)) === answered,
      120_000,
      250,
    );
    // The rebuilt state was written back, and the module folder is still there.
    await stat(join(agent.dataDir, "state.json"));
    await stat(join(agent.dataDir, "modules", "lost", "1.0.0", "module.json"));
  });
});

/**
 * Defect: one failed spool write (ENOSPC, read-only disk) left the telemetry outbox's promise chain
 * rejected, so every later window was lost until a restart and none was counted. Here a real agent
 * process is scored while its spool folder refuses every write (the kernel's immutable flag: EPERM,
 * for root too), then the folder is writable again: the hub's stored request counts add up exactly
 * to what the agent answered, and nothing was dropped ([WIRE-5.3]).
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, spawnAgent } from "../../lib/agent-process.js";
import { canFreezeFolders, freezeFolder } from "../support/disk-faults.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { startScoringLoad } from "../support/scoring-load.js";
import {
  createDevice,
  publishTabularModule,
  servedVersion,
  storedRequests,
} from "../support/tabular-module.js";
import { waitFor } from "../support/wait.js";

const freezable = await canFreezeFolders();
let hub: TestHub;
let agent: AgentProcess | undefined;
let thaw: (() => Promise<void>) | undefined;

beforeAll(async () => {
  hub = await startTestHub();
  await publishTabularModule(hub, "diskfault");
});

afterAll(async () => {
  await thaw?.();
  await agent?.stop();
  await hub?.dispose();
});

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe.skipIf(!freezable)("telemetry while the disk refuses spool writes", () => {
  it("keeps every window: held in memory and sent, written once the disk is back, none dropped", {
    timeout: 180_000,
  }, async () => {
    const device = await createDevice(hub, "diskfault-1");
    agent = await spawnAgent({
      hubUrl: hub.url,
      mqttUrl: hub.mqttUrl,
      deviceId: device.id,
      secret: device.secret,
      trustKey: hub.parts.signing.publicKeyPem,
      telemetryIntervalMs: 200,
    });
    await hub.client.post("/api/v1/deployments", {
      module: "diskfault",
      version: "1.0.0",
      selector: { deviceIds: [device.id] },
    });
    await waitFor(
      () => `agent serving\n${agent!.output()}`,
      () => servedVersion(agent!.scoringUrl, "diskfault"),
      90_000,
    );
    const load = startScoringLoad(agent.scoringUrl, "diskfault");
    await waitFor("the first windows stored", async () => (await storedRequests(hub, device.id)) > 0);

    thaw = await freezeFolder(join(agent.dataDir, "telemetry-spool"));
    await waitFor(
      () => `three refused spool writes\n${agent!.output().slice(-3000)}`,
      async () => count(agent!.output(), "EPERM") >= 3,
      30_000,
    );
    await thaw();
    const requestsAfterThaw = load.answered;
    await waitFor("more requests after the disk is back", async () => load.answered > requestsAfterThaw + 50);
    const { answered, failures } = await load.stop();
    expect(failures).toEqual([]);

    await waitFor(
      () => `hub telemetry to add up to ${answered} requests\n${agent!.output().slice(-3000)}`,
      async () => (await storedRequests(hub, device.id)) === answered,
      60_000,
      250,
    );
    const metrics = await (await fetch(`${agent.scoringUrl}/metrics`)).text();
    expect(metrics).toMatch(/^edgefleet_agent_telemetry_dropped_windows_total 0$/m);
  });
});

/**
 * Telemetry store-and-forward end to end: a real agent process scored continuously while its hub
 * (API and embedded broker) is down, restarted in the middle of the outage, then the hub comes back
 * on the same ports and data folder. The windows spooled on disk are replayed and the hub's stored
 * request counts add up exactly to the requests the agent answered.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, spawnAgent } from "../../lib/agent-process.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { startScoringLoad } from "../support/scoring-load.js";
import { createDevice, publishTabularModule, servedVersion } from "../support/tabular-module.js";
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

/** Scores until stopped; counts the requests the agent answered, every one with 200. */
function scoringLoad(target: AgentProcess) {
  const load = startScoringLoad(target.scoringUrl, "replay");
  return {
    /** Requests answered so far. */
    count: () => load.answered,
    async stop() {
      const { answered, failures } = await load.stop();
      expect(failures).toEqual([]);
      return answered;
    },
  };
}

/** One scoring request, answered 200. */
async function scoreOnce(target: AgentProcess): Promise<void> {
  const response = await fetch(`${target.scoringUrl}/v1/modules/replay/score`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ features: { f0: 1, f1: 2, f2: 3, f3: 4 } }),
  });
  expect(response.status).toBe(200);
  await response.arrayBuffer();
}

async function hubRequestCount(): Promise<number> {
  const { windows } = await hub.client.get<{ windows: { requests: number }[] }>(
    `/api/v1/telemetry?device=${device.id}&limit=10000`,
  );
  return windows.reduce((sum, window) => sum + window.requests, 0);
}

/** Window files waiting in the agent's spool folder (none while the folder does not exist yet). */
async function spooledWindows(target: AgentProcess): Promise<number> {
  const files = await readdir(join(target.dataDir, "telemetry-spool")).catch(() => [] as string[]);
  return files.filter((f) => /^\d+\.json$/.test(f)).length;
}

/** Waits until `load` has answered `more` requests beyond what it had answered on the call. */
async function answeredMore(load: { count(): number }, more: number, what: string): Promise<void> {
  const from = load.count();
  await waitFor(what, async () => load.count() >= from + more);
}

beforeAll(async () => {
  hub = await startTestHub({ keepData: true });
  await publishTabularModule(hub, "replay");
  device = await createDevice(hub, "replay-1");
});

afterAll(async () => {
  await agent?.stop();
  await hub?.dispose();
});

describe("telemetry while the broker is down", () => {
  it("spools windows on disk across an agent restart and replays them: the hub's counts add up exactly", {
    timeout: 180_000,
  }, async () => {
    agent = await startAgent();
    await hub.client.post("/api/v1/deployments", {
      module: "replay",
      version: "1.0.0",
      selector: { deviceIds: [device.id] },
    });
    await waitFor(
      () => `agent serving\n${agent!.output()}`,
      () => servedVersion(agent!.scoringUrl, "replay"),
      90_000,
    );

    let answered = 0;
    let load = scoringLoad(agent);
    await answeredMore(load, 20, "the agent to answer requests while online");
    const { port, mqttPort, dataDir } = {
      port: Number(new URL(hub.url).port),
      mqttPort: Number(new URL(hub.mqttUrl).port),
      dataDir: hub.dataDir,
    };
    await hub.close(); // API and broker down; the agent keeps scoring
    await waitFor(
      "a window spooled while the broker is down",
      async () => (await spooledWindows(agent!)) > 0,
    );
    await answeredMore(load, 20, "the agent to answer requests while offline");
    answered += await load.stop();
    const spool = join(agent.dataDir, "telemetry-spool");
    expect(await spooledWindows(agent)).toBeGreaterThan(0);
    const metrics = await (await fetch(`${agent.scoringUrl}/metrics`)).text();
    expect(metrics).toMatch(/^edgefleet_agent_telemetry_spooled_windows [1-9]\d*$/m);
    expect(metrics).toMatch(/^edgefleet_agent_telemetry_dropped_windows_total 0$/m);

    // A graceful restart while offline: the window in progress goes to disk, the spool survives.
    await agent.stop();
    agent = await startAgent(agent);
    await waitFor("restarted agent serving", () => servedVersion(agent!.scoringUrl, "replay"), 90_000);
    load = scoringLoad(agent);
    const spooledAtRestart = await spooledWindows(agent);
    await waitFor(
      "a window scored after the restart to be spooled",
      async () => (await spooledWindows(agent!)) > spooledAtRestart,
    );
    await answeredMore(load, 20, "the restarted agent to answer requests while offline");

    hub = await startTestHub({ dataDir, port, mqttPort, keepData: false });
    // Keep scoring until the agent is back on line, so windows from both sides of the outage count.
    await waitFor(
      "the first telemetry after the hub came back",
      async () => (await hubRequestCount()) > 0,
      90_000,
    );
    await answeredMore(load, 20, "the agent to answer requests after the hub came back");
    answered += await load.stop();
    expect(answered).toBeGreaterThan(0);

    await waitFor(
      () => `hub telemetry to add up to ${answered} requests\n${agent!.output().slice(-3000)}`,
      async () => (await hubRequestCount()) === answered,
      90_000,
      250,
    );
    await waitFor("the spool to drain", async () =>
      (await readdir(spool)).every((f) => !/^\d+\.json$/.test(f)),
    );
    // Duplicates are dropped by seq, so the sum stays exact after everything settled. One more request
    // is a barrier instead of a pause: its window is published after every replayed one on the same
    // connection, so once it is counted any late duplicate would have been counted too.
    await scoreOnce(agent);
    await waitFor(
      "the barrier request's window",
      async () => (await hubRequestCount()) >= answered + 1,
      90_000,
      250,
    );
    expect(await hubRequestCount()).toBe(answered + 1);
  });
});

/**
 * The SIGKILL matrix with real agent processes against a real hub: one device per kill point, all
 * in parallel. Each agent serves 1.0.0, is restarted with the test-only `EDGEFLEET_FAULT_KILL_AT`
 * hook armed, and is deployed a large 2.0.0; it SIGKILLs itself at the chosen step. Then: the state
 * file parses, the restarted agent serves the last-known-good version before it touches the network
 * (its `boot.serving` log line), and it converges to 2.0.0 with only active + previous on disk.
 * `download-mid` dies with half the tarball in its `.part` and must resume with a Range request.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FaultPoint } from "../../agent/faults.js";
import { AgentStateSchema } from "../../agent/state-store.js";
import { type AgentProcess, spawnAgent } from "../../lib/agent-process.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { getJson, waitFor } from "../support/wait.js";

/** Where each kill leaves the device: the version the restarted agent must serve at boot. */
const MATRIX: Array<{ point: FaultPoint; bootVersion: string }> = [
  { point: "download", bootVersion: "1.0.0" },
  { point: "download-mid", bootVersion: "1.0.0" },
  { point: "unpack", bootVersion: "1.0.0" },
  { point: "load", bootVersion: "1.0.0" },
  { point: "activate", bootVersion: "1.0.0" },
  // Killed after the switch was recorded: 2.0.0 is the last-known-good now.
  { point: "cleanup", bootVersion: "2.0.0" },
];
const FEATURES = ["f0", "f1", "f2", "f3"];
/** Six agent processes start three times each: give a loaded machine room (no timing is asserted). */
const WAIT_MS = 120_000;
const waitLong = <T>(what: string | (() => string), probe: () => Promise<T | undefined | null | false>) =>
  waitFor(what, probe, WAIT_MS);

let hub: TestHub;
const agents: AgentProcess[] = [];
let largeTarball: { sha256: string; size: number };

async function publishModule(version: string, hiddenSizes: number[], seed: number) {
  const model = buildMlpClassifier({ inputSize: 4, hiddenSizes, classes: 3, seed });
  const registered = await hub.client.request<{ version: number }>(
    "POST",
    "/api/v1/models/crash/versions",
    model.bytes,
  );
  return hub.client.post<{ tarballSha256: string; tarballSize: number }>("/api/v1/modules", {
    name: "crash",
    version,
    model: { name: "crash", version: registered.version },
    preprocessing: { kind: "tabular", input: "features", features: FEATURES.map((name) => ({ name })) },
    postprocessing: { kind: "softmax", output: "logits", labels: ["a", "b", "c"] },
  });
}

function deploy(version: string) {
  return hub.client.post("/api/v1/deployments", {
    module: "crash",
    version,
    selector: { tags: { fleet: "crash" } },
  });
}

async function served(agent: AgentProcess): Promise<string | undefined> {
  const body = await getJson<{ modules: { name: string; version: string }[] }>(
    `${agent.scoringUrl}/v1/modules`,
  );
  return body?.modules.find((m) => m.name === "crash")?.version;
}

function restart(
  agent: AgentProcess,
  secret: string,
  env: Record<string, string> = {},
): Promise<AgentProcess> {
  return spawnAgent({
    hubUrl: hub.url,
    mqttUrl: hub.mqttUrl,
    deviceId: agent.deviceId,
    secret,
    trustKey: hub.parts.signing.publicKeyPem,
    dataDir: agent.dataDir,
    port: agent.port,
    env,
  });
}

function exited(agent: AgentProcess): Promise<NodeJS.Signals | number | null> {
  const { child } = agent;
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve(child.signalCode ?? child.exitCode);
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code)));
}

/** JSON log lines with an `event` key, in the order the process wrote them. */
function events(agent: AgentProcess): Array<Record<string, unknown>> {
  return agent
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => typeof entry.event === "string");
}

async function readState(dataDir: string) {
  // Parse, not just read: a half-written state file would fail here.
  return AgentStateSchema.parse(JSON.parse(await readFile(join(dataDir, "state.json"), "utf8")));
}

beforeAll(async () => {
  hub = await startTestHub();
  await publishModule("1.0.0", [8], 1);
  // ~4 MB of weights that barely compress: the download takes many chunks, so "mid" is mid.
  const large = await publishModule("2.0.0", [1024, 1024], 2);
  largeTarball = { sha256: large.tarballSha256, size: large.tarballSize };
});

afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.stop("SIGKILL")));
  await hub?.dispose();
});

describe("SIGKILL at every reconcile step, then restart", () => {
  it("serves the last-known-good version at once, converges to the new one, and never half-writes state", {
    timeout: 300_000,
  }, async () => {
    const devices = await Promise.all(
      MATRIX.map(({ point }) =>
        hub.client.post<{ device: { id: string }; secret: string }>("/api/v1/devices", {
          id: `crash-${point}`,
          tags: { fleet: "crash" },
        }),
      ),
    );
    const first = await Promise.all(
      devices.map(({ device, secret }) =>
        spawnAgent({
          hubUrl: hub.url,
          mqttUrl: hub.mqttUrl,
          deviceId: device.id,
          secret,
          trustKey: hub.parts.signing.publicKeyPem,
        }),
      ),
    );
    agents.push(...first);
    await deploy("1.0.0");
    await Promise.all(
      first.map((agent) =>
        waitLong(
          () => `${agent.deviceId} serving 1.0.0\n${agent.output()}`,
          async () => (await served(agent)) === "1.0.0",
        ),
      ),
    );

    // Restart every agent with its kill point armed; each must come back serving 1.0.0.
    const armed = await Promise.all(
      first.map(async (agent, i) => {
        await agent.stop();
        const next = await restart(agent, devices[i]!.secret, { EDGEFLEET_FAULT_KILL_AT: MATRIX[i]!.point });
        agents.push(next);
        await waitLong(`${next.deviceId} serving 1.0.0 again`, async () => (await served(next)) === "1.0.0");
        return next;
      }),
    );

    await deploy("2.0.0");
    await Promise.all(
      armed.map(async (agent, i) => {
        const { point, bootVersion } = MATRIX[i]!;
        const what = `${agent.deviceId} (kill at ${point})`;
        expect(await exited(agent), `${what}\n${agent.output()}`).toBe("SIGKILL");
        expect(await stat(join(agent.dataDir, `fault-${point}.killed`))).toBeTruthy();

        const killedState = await readState(agent.dataDir);
        expect(killedState.modules.crash?.active.version, what).toBe(bootVersion);
        if (point === "download-mid") {
          const part = await stat(join(agent.dataDir, "downloads", `${largeTarball.sha256}.part`));
          expect(part.size, what).toBeGreaterThanOrEqual(largeTarball.size / 2);
          expect(part.size, what).toBeLessThan(largeTarball.size);
        }

        // Same environment: the marker file lets the restarted process run through the armed step.
        const back = await restart(agent, devices[i]!.secret, { EDGEFLEET_FAULT_KILL_AT: point });
        agents.push(back);
        const boot = await waitLong(`${what}: boot.serving`, async () =>
          events(back).find((e) => e.event === "boot.serving"),
        );
        expect(boot.modules, what).toEqual([`crash@${bootVersion}`]);
        await waitLong(
          () => `${what} serving 2.0.0\n${back.output()}`,
          async () => (await served(back)) === "2.0.0",
        );
        // Serving from disk precedes the network: boot is logged before MQTT connects.
        const order = await waitLong(`${what}: mqtt.connected`, async () => {
          const seen = events(back).map((e) => e.event);
          return seen.includes("mqtt.connected") ? seen : undefined;
        });
        expect(order.indexOf("boot.serving"), what).toBeGreaterThanOrEqual(0);
        expect(order.indexOf("boot.serving"), what).toBeLessThan(order.indexOf("mqtt.connected"));
        const score = await fetch(`${back.scoringUrl}/v1/modules/crash/score`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ features: { f0: 1, f1: 2, f2: 3, f3: 4 } }),
        });
        expect(score.status, what).toBe(200);
        expect(((await score.json()) as { version: string }).version).toBe("2.0.0");

        if (point === "download-mid") {
          const resume = events(back).find((e) => e.event === "download.resume");
          expect(resume?.offset, what).toBeGreaterThanOrEqual(largeTarball.size / 2);
        }
        // The switch serves first and records right after (agent/reconcile/effects.ts activate):
        // the file may trail the first answers from 2.0.0 by a write.
        const finalState = await waitLong(`${what}: state recording 2.0.0`, async () => {
          const state = await readState(back.dataDir);
          return state.modules.crash?.active.version === "2.0.0" ? state : undefined;
        });
        expect(finalState.modules.crash, what).toMatchObject({
          active: { version: "2.0.0" },
          previous: { version: "1.0.0" },
        });
        expect((await readdir(join(back.dataDir, "modules", "crash"))).sort(), what).toEqual([
          "1.0.0",
          "2.0.0",
        ]);
        expect(await readdir(join(back.dataDir, "downloads")), what).toEqual([]);
      }),
    );
  });
});

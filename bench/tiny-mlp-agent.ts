/**
 * The setup A1 and A6 share: a hub in this process, a tiny MLP (16 → 32 → 4) registered, packaged
 * and deployed to one device, and a real agent process (pinned when asked) serving it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseHubConfig } from "../hub/config.js";
import { type RunningHub, startHub } from "../hub/main.js";
import { HubClient } from "../hub-api/client.js";
import { type AgentProcess, spawnAgent } from "../lib/agent-process.js";
import { silentLogger } from "../lib/log.js";
import { buildMlpClassifier, type MlpModel } from "../modules/onnx/models.js";

export const TINY_FEATURES = Array.from({ length: 16 }, (_, i) => `x${i}`);
export const TINY_MODULE = "tiny-mlp";

/** The benchmark model, the same bytes on every call. */
export function tinyMlp(): MlpModel {
  return buildMlpClassifier({ inputSize: TINY_FEATURES.length, hiddenSizes: [32], classes: 4, seed: 7 });
}

export interface TinyMlpAgent {
  hub: RunningHub;
  agent: AgentProcess;
  model: MlpModel;
  /** Stops the agent and the hub and removes the hub's data folder. */
  close(): Promise<void>;
}

/** Starts hub + agent with the tiny MLP deployed, and waits until the agent serves it. */
export async function startTinyMlpAgent(options: {
  deviceId: string;
  agentCpus?: string;
}): Promise<TinyMlpAgent> {
  const dataDir = await mkdtemp(join(tmpdir(), `edgefleet-bench-${options.deviceId}-`));
  const hub = await startHub(
    // No in-hub trainer: its claim polling would be noise in the serving figures.
    parseHubConfig({
      dataDir,
      port: 0,
      mqttPort: 0,
      mqttHost: "127.0.0.1",
      logLevel: "silent",
      trainer: false,
    }),
    { log: silentLogger },
  );
  let agent: AgentProcess | undefined;
  const close = async () => {
    await agent?.stop();
    await hub.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const client = new HubClient({ url: hub.url, token: hub.adminToken });
    const model = tinyMlp();
    const { device, secret } = await client.post<{ device: { id: string }; secret: string }>(
      "/api/v1/devices",
      {
        id: options.deviceId,
      },
    );
    const registered = await client.request<{ version: number }>(
      "POST",
      `/api/v1/models/${TINY_MODULE}/versions`,
      model.bytes,
    );
    await client.post("/api/v1/modules", {
      name: TINY_MODULE,
      version: "1.0.0",
      model: { name: TINY_MODULE, version: registered.version },
      preprocessing: {
        kind: "tabular",
        input: "features",
        features: TINY_FEATURES.map((name) => ({ name })),
      },
      postprocessing: { kind: "softmax", output: "logits" },
    });
    await client.post("/api/v1/deployments", {
      module: TINY_MODULE,
      version: "1.0.0",
      selector: { deviceIds: [device.id] },
    });
    agent = await spawnAgent({
      hubUrl: hub.url,
      mqttUrl: hub.mqttUrl,
      deviceId: device.id,
      secret,
      trustKey: hub.parts.signing.publicKeyPem,
      telemetryIntervalMs: 10_000,
      logLevel: "warn",
      cpus: options.agentCpus,
    });
    await waitServed(agent.scoringUrl);
    return { hub, agent, model, close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function waitServed(scoringUrl: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`${scoringUrl}/v2/models/${TINY_MODULE}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error("the agent did not serve the benchmark model within 60 s");
}

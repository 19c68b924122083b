/**
 * A6: resident memory of a real `edgefleet agent` process (connected to a hub, one small model
 * deployed and scored) against the floor any Node agent pays: a process that only imports
 * onnxruntime-node and holds a session of the same model with the same options. Both are measured
 * from /proc after they settle.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { sessionOptions } from "../agent/runtime/session-options.js";
import { HubClient } from "../cli/hub-client.js";
import { parseHubConfig } from "../hub/config.js";
import { startHub } from "../hub/main.js";
import { spawnAgent } from "../lib/agent-process.js";
import { silentLogger } from "../lib/log.js";
import { RuntimeOptionsSchema } from "../modules/manifest.js";
import { buildMlpClassifier } from "../modules/onnx/models.js";
import { answer, isMainModule, rssOf, startChild } from "./child.js";
import { type BenchResult, round } from "./stats.js";

const FEATURES = Array.from({ length: 16 }, (_, i) => `x${i}`);
const MB = 1024 * 1024;
const model = () =>
  buildMlpClassifier({ inputSize: FEATURES.length, hiddenSizes: [32], classes: 4, seed: 7 });
const settle = (ms = 1500) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs A6. */
export async function benchAgentRss(options: { agentCpus?: string }): Promise<BenchResult[]> {
  const floorChild = startChild<{ ready: true }>(import.meta.url, [], options.agentCpus);
  let floor: number;
  try {
    await floorChild.ready;
    await settle();
    floor = await rssOf(floorChild.child.pid!);
  } finally {
    await floorChild.stop();
  }
  const dataDir = await mkdtemp(join(tmpdir(), "edgefleet-bench-a6-"));
  const hub = await startHub(
    parseHubConfig({ dataDir, port: 0, mqttPort: 0, mqttHost: "127.0.0.1", logLevel: "silent" }),
    { log: silentLogger },
  );
  try {
    const client = new HubClient({ url: hub.url, token: hub.adminToken });
    const { device, secret } = await client.post<{ device: { id: string }; secret: string }>(
      "/api/v1/devices",
      {
        id: "bench-a6",
      },
    );
    const registered = await client.request<{ version: number }>(
      "POST",
      "/api/v1/models/tiny-mlp/versions",
      model().bytes,
    );
    await client.post("/api/v1/modules", {
      name: "tiny-mlp",
      version: "1.0.0",
      model: { name: "tiny-mlp", version: registered.version },
      preprocessing: { kind: "tabular", input: "features", features: FEATURES.map((name) => ({ name })) },
      postprocessing: { kind: "softmax", output: "logits" },
    });
    await client.post("/api/v1/deployments", {
      module: "tiny-mlp",
      version: "1.0.0",
      selector: { deviceIds: [device.id] },
    });
    const agent = await spawnAgent({
      hubUrl: hub.url,
      mqttUrl: hub.mqttUrl,
      deviceId: device.id,
      secret,
      trustKey: hub.context.signing.publicKeyPem,
      telemetryIntervalMs: 10_000,
      logLevel: "warn",
      cpus: options.agentCpus,
    });
    try {
      const deadline = Date.now() + 60_000;
      while (
        !(await fetch(`${agent.scoringUrl}/v2/models/tiny-mlp/ready`).then(
          (r) => r.ok,
          () => false,
        ))
      ) {
        if (Date.now() > deadline) throw new Error("the agent did not serve the model within 60 s");
        await settle(200);
      }
      const body = JSON.stringify({ features: Object.fromEntries(FEATURES.map((f, i) => [f, i])) });
      for (let i = 0; i < 200; i++) {
        await fetch(`${agent.scoringUrl}/v1/modules/tiny-mlp/score`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
      }
      await settle();
      const ours = await rssOf(agent.child.pid!);
      const ratio = ours / floor;
      return [
        {
          id: "A6",
          what: "agent process RSS, one tiny MLP deployed and scored, vs node + onnxruntime-node + the same session",
          ours: round(ours / MB),
          peer: round(floor / MB),
          unit: "MiB",
          ratio: round(ratio, 2),
          goal: "<= 1.15x",
          met: ratio <= 1.15,
          details: { "agent minus floor (MiB)": round((ours - floor) / MB) },
        },
      ];
    } finally {
      await agent.stop();
    }
  } finally {
    await hub.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Child: the floor, a process holding one warm session and nothing else. */
async function child(): Promise<void> {
  const session = await InferenceSession.create(
    model().bytes,
    sessionOptions(RuntimeOptionsSchema.parse({})),
  );
  await session.run({
    features: new Tensor("float32", new Float32Array(FEATURES.length), [1, FEATURES.length]),
  });
  answer({ ready: true });
  setInterval(() => undefined, 60_000);
}

if (isMainModule(import.meta.url) && process.argv.includes("--child")) await child();

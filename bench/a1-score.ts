/**
 * A1: agent HTTP score latency against raw `session.run` on the same model, in the same run.
 * The agent is a separate process pinned to CPU 1; this process (load generator and the peer's
 * in-process session) is pinned to CPU 0 by bench/main.ts. Blocks alternate A B B A after a warm-up.
 */
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { HubClient } from "../cli/hub-client.js";
import { parseHubConfig } from "../hub/config.js";
import { startHub } from "../hub/main.js";
import { spawnAgent } from "../lib/agent-process.js";
import { silentLogger } from "../lib/log.js";
import { buildMlpClassifier } from "../modules/onnx/models.js";
import { type BenchResult, quantile, round } from "./stats.js";

const FEATURES = Array.from({ length: 16 }, (_, i) => `x${i}`);
const BLOCK = 200;
const BLOCKS = 10;

/** Runs A1 and returns its result. */
export async function benchScoreVsSessionRun(options: { agentCpus?: string }): Promise<BenchResult[]> {
  const dataDir = await mkdtemp(join(tmpdir(), "edgefleet-bench-"));
  const hub = await startHub(
    parseHubConfig({ dataDir, port: 0, mqttPort: 0, mqttHost: "127.0.0.1", logLevel: "silent" }),
    {
      log: silentLogger,
    },
  );
  const client = new HubClient({ url: hub.url, token: hub.adminToken });
  const model = buildMlpClassifier({ inputSize: FEATURES.length, hiddenSizes: [32], classes: 4, seed: 7 });
  const { device, secret } = await client.post<{ device: { id: string }; secret: string }>(
    "/api/v1/devices",
    { id: "bench-1" },
  );
  const registered = await client.request<{ version: number }>(
    "POST",
    "/api/v1/models/tiny-mlp/versions",
    model.bytes,
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
    await waitServed(agent.scoringUrl);
    const session = await ort.InferenceSession.create(model.bytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
    });
    const row = FEATURES.map((_, i) => (i % 5) - 2);
    const body = JSON.stringify({ features: Object.fromEntries(FEATURES.map((f, i) => [f, row[i]])) });
    const oipBody = JSON.stringify({
      inputs: [{ name: "features", shape: [1, FEATURES.length], datatype: "FP32", data: row }],
    });
    const feeds = { features: new ort.Tensor("float32", Float32Array.from(row), [1, FEATURES.length]) };

    const peer = async () => {
      const start = process.hrtime.bigint();
      await session.run(feeds);
      return Number(process.hrtime.bigint() - start) / 1000;
    };
    const client = keepAliveClient(agent.scoringUrl);
    const friendly = () => client.post("/v1/modules/tiny-mlp/score", body);
    const oip = () => client.post("/v2/models/tiny-mlp/infer", oipBody);
    const floor = () => client.get("/v2/health/live");
    for (let i = 0; i < 300; i++) {
      await peer();
      await friendly();
      await oip();
    }
    const floorSamples: number[] = [];
    for (let i = 0; i < 1000; i++) floorSamples.push(await floor());
    const samples = { peer: [] as number[], friendly: [] as number[], oip: [] as number[] };
    const ratios: number[] = [];
    for (let b = 0; b < BLOCKS; b++) {
      // A B B A: alternate which side goes first so drift on the machine hits both.
      const order =
        b % 2 === 0 ? (["peer", "friendly", "oip"] as const) : (["oip", "friendly", "peer"] as const);
      const block: Record<string, number[]> = { peer: [], friendly: [], oip: [] };
      for (const side of order) {
        const run = side === "peer" ? peer : side === "friendly" ? friendly : oip;
        for (let i = 0; i < BLOCK; i++) block[side]!.push(await run());
      }
      for (const side of ["peer", "friendly", "oip"] as const) samples[side].push(...block[side]!);
      ratios.push(quantile(block.friendly!, 0.5) / quantile(block.peer!, 0.5));
    }
    await session.release();
    const result = (id: string, what: string, ours: number[], goalExtraUs: number): BenchResult => {
      const oursP50 = quantile(ours, 0.5);
      const peerP50 = quantile(samples.peer, 0.5);
      return {
        id,
        what,
        ours: round(oursP50),
        peer: round(peerP50),
        unit: "us",
        ratio: round(oursP50 / peerP50, 2),
        goal: `<= 1.3x + ${goalExtraUs}us`,
        met: oursP50 <= 1.3 * peerP50 + goalExtraUs,
        details: {
          "ours p95": round(quantile(ours, 0.95)),
          "peer p95": round(quantile(samples.peer, 0.95)),
          "per-block ratio min": round(Math.min(...ratios), 2),
          "per-block ratio max": round(Math.max(...ratios), 2),
          "HTTP floor p50 (GET /v2/health/live)": round(quantile(floorSamples, 0.5)),
          samples: ours.length,
        },
      };
    };
    return [
      result(
        "A1",
        "agent HTTP score p50 vs raw session.run, tiny MLP (16→32→4), JSON features route",
        samples.friendly,
        150,
      ),
      result("A1o", "agent OIP v2 infer p50 vs raw session.run, tiny MLP", samples.oip, 150),
    ];
  } finally {
    await agent.stop();
    await hub.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** A minimal keep-alive HTTP/1.1 client: fetch's own overhead (~1 ms here) would swamp the figure. */
function keepAliveClient(base: string) {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const call = (method: string, path: string, payload?: string) =>
    new Promise<number>((resolve, reject) => {
      const start = process.hrtime.bigint();
      const headers: Record<string, string | number> = payload
        ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
        : {};
      const request = http.request(
        { host: url.hostname, port: url.port, path, method, agent, headers },
        (response) => {
          response.resume();
          response.on("end", () => {
            if (response.statusCode !== 200)
              reject(new Error(`${method} ${path} answered ${response.statusCode}`));
            else resolve(Number(process.hrtime.bigint() - start) / 1000);
          });
        },
      );
      request.on("error", reject);
      request.end(payload);
    });
  return {
    post: (path: string, payload: string) => call("POST", path, payload),
    get: (path: string) => call("GET", path),
  };
}

async function waitServed(scoringUrl: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`${scoringUrl}/v2/models/tiny-mlp/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error("the agent did not serve the benchmark model within 60 s");
}

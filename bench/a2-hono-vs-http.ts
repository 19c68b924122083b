/**
 * A2: scoring throughput through Hono (@hono/node-server) against a bare node:http server running
 * the same handler (JSON features → tabular preprocessing → tiny MLP → softmax), both in one child
 * process on the agent's CPU; the load generator runs here. Concurrency sweep 1, 4, 16; blocks
 * alternate A B B A. The full agent app (body limit, metrics, telemetry, prediction log) is
 * measured too and reported beside the figure.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { parseWith } from "../agent/http/request.js";
import { prepare } from "../agent/http/routes/score.js";
import { ScoreRequestSchema } from "../agent/http/routes/score-schemas.js";
import { startScoringServer } from "../agent/http/server.js";
import { loadModule } from "../agent/runtime/loaded-module.js";
import { ServingTable } from "../agent/runtime/serving-table.js";
import { writeModuleDir } from "../agent/runtime/test-modules.js";
import { TelemetryRecorder } from "../agent/telemetry/recorder.js";
import { silentLogger } from "../lib/log.js";
import { postprocess } from "../modules/index.js";
import { buildMlpClassifier } from "../modules/onnx/models.js";
import { answer, isMainModule, startChild } from "./child.js";
import { closedLoop } from "./load.js";
import { type BenchResult, quantile, round } from "./stats.js";

const FEATURES = Array.from({ length: 16 }, (_, i) => `x${i}`);
const SWEEP = [1, 4, 16];
const BLOCK_MS = 1200;

interface Ports {
  hono: number;
  bare: number;
  agent: number;
}

/** Runs A2. */
export async function benchHonoVsHttp(options: { agentCpus?: string }): Promise<BenchResult[]> {
  const server = startChild<Ports>(import.meta.url, [], options.agentCpus);
  try {
    const ports = await server.ready;
    const url = (port: number, path: string) => `http://127.0.0.1:${port}${path}`;
    const body = JSON.stringify({
      features: Object.fromEntries(FEATURES.map((name, i) => [name, (i % 5) - 2])),
    });
    const hono = url(ports.hono, "/score");
    const bare = url(ports.bare, "/score");
    const agent = url(ports.agent, "/v1/modules/tiny/score");
    for (const target of [hono, bare, agent]) await closedLoop(target, body, 4, 500);
    const ratios: Record<number, number[]> = {};
    const throughput: Record<number, { hono: number[]; bare: number[] }> = {};
    for (const concurrency of SWEEP) {
      ratios[concurrency] = [];
      throughput[concurrency] = { hono: [], bare: [] };
      for (let pair = 0; pair < 3; pair++) {
        const order = pair % 2 === 0 ? [hono, bare] : [bare, hono];
        const got: Record<string, number> = {};
        for (const target of order)
          got[target] = (await closedLoop(target, body, concurrency, BLOCK_MS)).throughput;
        throughput[concurrency]!.hono.push(got[hono]!);
        throughput[concurrency]!.bare.push(got[bare]!);
        ratios[concurrency]!.push(got[hono]! / got[bare]!);
      }
    }
    const full = (await closedLoop(agent, body, 16, BLOCK_MS)).throughput;
    const top = SWEEP[SWEEP.length - 1]!;
    const oursTop = quantile(throughput[top]!.hono, 0.5);
    const peerTop = quantile(throughput[top]!.bare, 0.5);
    const details: Record<string, number | string> = {};
    for (const c of SWEEP) {
      details[`c${c} ratio`] = round(quantile(ratios[c]!, 0.5), 2);
      details[`c${c} hono req/s`] = Math.round(quantile(throughput[c]!.hono, 0.5));
    }
    details["full agent app c16 req/s"] = Math.round(full);
    details["pair ratio min"] = round(Math.min(...Object.values(ratios).flat()), 2);
    details["pair ratio max"] = round(Math.max(...Object.values(ratios).flat()), 2);
    // The median of per-pair ratios: on a shared machine a whole block can be slow, and pairing cancels it.
    const ratio = quantile(ratios[top]!, 0.5);
    return [
      {
        id: "A2",
        what: `scoring throughput at concurrency ${top}, Hono vs bare node:http, same handler (tiny MLP)`,
        ours: Math.round(oursTop),
        peer: Math.round(peerTop),
        unit: "req/s",
        ratio: round(ratio, 2),
        goal: ">= 0.85x",
        met: ratio >= 0.85,
        details,
      },
    ];
  } finally {
    await server.stop();
  }
}

/** Child: one module, the same handler behind Hono and behind node:http, and the full agent app. */
async function child(): Promise<void> {
  const model = buildMlpClassifier({ inputSize: FEATURES.length, hiddenSizes: [32], classes: 4, seed: 7 });
  const dir = await writeModuleDir(model.bytes, {
    name: "tiny",
    version: "1.0.0",
    inputs: [{ name: "features", datatype: "FP32", shape: [-1, FEATURES.length] }],
    outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 4] }],
    preprocessing: { kind: "tabular", input: "features", features: FEATURES.map((name) => ({ name })) },
    postprocessing: { kind: "softmax", output: "logits" },
  });
  const table = new ServingTable();
  table.activate(await loadModule({ dir: dir.dir, manifest: dir.manifest }));
  const handle = async (text: string) => {
    const request = parseWith(ScoreRequestSchema, JSON.parse(text));
    const module = table.get("tiny")!;
    return module.withLease(async () => {
      const prepared = prepare(module, request);
      const outputs = await module.run(prepared.feeds);
      const predictions = postprocess(module.manifest.postprocessing, outputs, prepared.batchSize);
      return {
        module: module.name,
        version: module.version,
        predictions,
        predictionIds: predictions.map(() => randomUUID()),
      };
    });
  };
  const app = new Hono();
  app.post("/score", async (c) => c.json(await handle(await c.req.text())));
  const hono = await new Promise<number>((resolve) => {
    serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => resolve(info.port));
  });
  const bareServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      handle(Buffer.concat(chunks).toString()).then(
        (result) => {
          const json = JSON.stringify(result);
          res.writeHead(200, {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(json),
          });
          res.end(json);
        },
        (error: Error) => {
          res.writeHead(500).end(error.message);
        },
      );
    });
  });
  const bare = await new Promise<number>((resolve) =>
    bareServer.listen(0, "127.0.0.1", () => resolve((bareServer.address() as AddressInfo).port)),
  );
  const agent = await startScoringServer({
    port: 0,
    table,
    recorder: new TelemetryRecorder(),
    log: silentLogger,
    agentVersion: "bench",
  });
  answer({ hono, bare, agent: agent.port } satisfies Ports);
  process.once("SIGTERM", () => {
    dir.cleanup().finally(() => process.exit(0));
  });
}

if (isMainModule(import.meta.url) && process.argv.includes("--child")) await child();

/**
 * A4: throughput and p95 latency at concurrency 8 with micro-batching (maxBatch 8) against the same
 * model with batching off (maxBatch 1), both served by one agent scoring server in a child process
 * on the agent's CPU; OIP infer requests from the load generator here, blocks A B B A. The model is
 * a memory-bound MLP (256→2048→2048→2048→10, ~34 MB of weights): one row or eight cost nearly the
 * same weight traffic, which is where batching pays on a device.
 */

import { startScoringServer } from "../agent/http/server.js";
import { loadModule } from "../agent/runtime/loaded-module.js";
import { ServingTable } from "../agent/runtime/serving-table.js";
import { writeModuleDir } from "../agent/runtime/test-modules.js";
import { TelemetryRecorder } from "../agent/telemetry/recorder.js";
import { silentLogger } from "../lib/log.js";
import { buildMlpClassifier } from "../modules/onnx/models.js";
import { answer, isMainModule, startChild } from "./child.js";
import { closedLoop } from "./load.js";
import { type BenchResult, quantile, round } from "./stats.js";

const CONCURRENCY = 8;
const BLOCK_MS = 2000;

/** Runs A4. */
export async function benchBatching(options: { agentCpus?: string }): Promise<BenchResult[]> {
  const server = startChild<{ port: number; executor: string }>(import.meta.url, [], options.agentCpus);
  try {
    const { port, executor } = await server.ready;
    const body = JSON.stringify({
      inputs: [
        {
          name: "features",
          shape: [1, 256],
          datatype: "FP32",
          data: Array.from({ length: 256 }, (_, i) => (i % 7) / 10),
        },
      ],
    });
    const url = (name: string) => `http://127.0.0.1:${port}/v2/models/${name}/infer`;
    await closedLoop(url("batched"), body, CONCURRENCY, 800);
    await closedLoop(url("single"), body, CONCURRENCY, 800);
    const runs = { batched: [] as number[], single: [] as number[] };
    const latencies = { batched: [] as number[], single: [] as number[] };
    let failures = 0;
    for (const side of ["batched", "single", "single", "batched", "batched", "single"] as const) {
      const result = await closedLoop(url(side), body, CONCURRENCY, BLOCK_MS);
      runs[side].push(result.throughput);
      latencies[side].push(...result.latenciesUs);
      failures += result.failures;
    }
    const ours = quantile(runs.batched, 0.5);
    const peer = quantile(runs.single, 0.5);
    const p95Ours = quantile(latencies.batched, 0.95);
    const p95Peer = quantile(latencies.single, 0.95);
    const ratio = ours / peer;
    return [
      {
        id: "A4",
        what: `throughput at concurrency ${CONCURRENCY}, micro-batching (maxBatch 8) vs off, MLP 256-2048x3-10 (${executor})`,
        ours: Math.round(ours),
        peer: Math.round(peer),
        unit: "req/s",
        ratio: round(ratio, 2),
        goal: ">= 2x, p95 <= 1.5x",
        met: ratio >= 2 && p95Ours <= 1.5 * p95Peer,
        details: {
          "p95 batched (ms)": round(p95Ours / 1000, 2),
          "p95 off (ms)": round(p95Peer / 1000, 2),
          "p95 ratio": round(p95Ours / p95Peer, 2),
          "p50 batched (ms)": round(quantile(latencies.batched, 0.5) / 1000, 2),
          "p50 off (ms)": round(quantile(latencies.single, 0.5) / 1000, 2),
          "non-2xx answers": failures,
        },
      },
    ];
  } finally {
    await server.stop();
  }
}

async function child(): Promise<void> {
  const model = buildMlpClassifier({ inputSize: 256, hiddenSizes: [2048, 2048, 2048], classes: 10, seed: 5 });
  const table = new ServingTable();
  const dirs: Awaited<ReturnType<typeof writeModuleDir>>[] = [];
  for (const [name, maxBatch] of [
    ["batched", 8],
    ["single", 1],
  ] as const) {
    const dir = await writeModuleDir(model.bytes, {
      name,
      version: "1.0.0",
      inputs: [{ name: "features", datatype: "FP32", shape: [-1, 256] }],
      outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 10] }],
      // Both in the worker, so the figure isolates batching (auto would keep batch-1 runs inline).
      runtime: { maxBatch, executor: "worker" },
    });
    dirs.push(dir);
    table.activate(await loadModule({ dir: dir.dir, manifest: dir.manifest }));
  }
  const server = await startScoringServer({
    port: 0,
    table,
    recorder: new TelemetryRecorder(),
    log: silentLogger,
    agentVersion: "bench",
  });
  answer({ port: server.port, executor: table.get("batched")!.executorKind });
  process.once("SIGTERM", () => {
    Promise.all(dirs.map((dir) => dir.cleanup())).finally(() => process.exit(0));
  });
}

if (isMainModule(import.meta.url) && process.argv.includes("--child")) await child();

/**
 * A1: agent HTTP score latency against raw `session.run` on the same model, in the same run.
 * The agent is a separate process pinned to CPU 1; this process (load generator and the peer's
 * in-process session) is pinned to CPU 0 by bench/main.ts. Blocks alternate A B B A after a warm-up.
 */
import * as ort from "onnxruntime-node";
import { keepAliveClient } from "./http-client.js";
import { type BenchResult, quantile, round } from "./stats.js";
import { startTinyMlpAgent, TINY_FEATURES } from "./tiny-mlp-agent.js";

const FEATURES = TINY_FEATURES;
const BLOCK = 200;
const BLOCKS = 10;

/** Runs A1 and returns its result. */
export async function benchScoreVsSessionRun(options: { agentCpus?: string }): Promise<BenchResult[]> {
  const setup = await startTinyMlpAgent({ deviceId: "bench-1", agentCpus: options.agentCpus });
  const { agent, model } = setup;
  try {
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
    const json = { "content-type": "application/json" };
    const [bodyBytes, oipBytes] = [Buffer.from(body), Buffer.from(oipBody)];
    const friendly = () => client.post("/v1/modules/tiny-mlp/score", bodyBytes, json);
    const oip = () => client.post("/v2/models/tiny-mlp/infer", oipBytes, json);
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
    await setup.close();
  }
}

/**
 * A6: resident memory of a real `edgefleet agent` process (connected to a hub, one small model
 * deployed and scored) against the floor any Node agent pays: a process that only imports
 * onnxruntime-node and holds a session of the same model with the same options. Both are measured
 * from /proc after they settle.
 */
import { InferenceSession, Tensor } from "onnxruntime-node";
import { sessionOptions } from "../agent/runtime/session-options.js";
import { RuntimeOptionsSchema } from "../modules/manifest.js";
import { answer, isMainModule, rssOf, startChild } from "./child.js";
import { type BenchResult, round } from "./stats.js";
import { startTinyMlpAgent, TINY_FEATURES, tinyMlp } from "./tiny-mlp-agent.js";

const FEATURES = TINY_FEATURES;
const MB = 1024 * 1024;
const model = tinyMlp;
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
  const setup = await startTinyMlpAgent({ deviceId: "bench-a6", agentCpus: options.agentCpus });
  const { agent } = setup;
  try {
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
    await setup.close();
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

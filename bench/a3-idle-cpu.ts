/**
 * A3: CPU burnt by an agent that has a model loaded and is (nearly) idle: our session options
 * (intra-op 1 thread, spinning off, via loadModule) against onnxruntime's defaults (a thread per
 * core, spin-waiting between runs). Each side is a fresh child process that runs a burst of 200
 * inferences, then measures its own CPU time (process.cpuUsage: all threads) over 2 s of idling,
 * then over 2 s at 10 runs/s. Children run one at a time, A B B A; not pinned, since spinning
 * shows on every core ORT may use.
 */
import { writeFile } from "node:fs/promises";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { loadModule } from "../agent/runtime/loaded-module.js";
import { writeModuleDir } from "../agent/runtime/test-modules.js";
import { buildMlpClassifier } from "../modules/onnx/models.js";
import { answer, isMainModule, startChild } from "./child.js";
import { type BenchResult, quantile, round } from "./stats.js";

const WINDOW_MS = 2000;

interface Measured {
  idleCpuMs: number;
  tenHzCpuMs: number;
}

/** Runs A3. */
export async function benchIdleCpu(): Promise<BenchResult[]> {
  const samples: Record<"ours" | "peer", Measured[]> = { ours: [], peer: [] };
  for (const side of ["ours", "peer", "peer", "ours"] as const) {
    const child = startChild<Measured>(import.meta.url, [side]);
    try {
      samples[side].push(await child.ready);
    } finally {
      await child.stop();
    }
  }
  const median = (side: "ours" | "peer", key: keyof Measured) =>
    quantile(
      samples[side].map((s) => s[key]),
      0.5,
    );
  const ours = median("ours", "idleCpuMs");
  const peer = median("peer", "idleCpuMs");
  const ratio = ours / Math.max(peer, 0.001);
  return [
    {
      id: "A3",
      what: `CPU time over ${WINDOW_MS / 1000} s idle after 200 runs, model loaded (MLP 256-512-512-10): ours vs ORT defaults`,
      ours: round(ours),
      peer: round(peer),
      unit: "ms CPU",
      ratio: round(ratio, 3),
      goal: "<= 0.02x",
      met: ratio <= 0.02,
      details: {
        "ours at 10 runs/s (ms CPU per 2 s)": round(median("ours", "tenHzCpuMs")),
        "ORT defaults at 10 runs/s": round(median("peer", "tenHzCpuMs")),
        "10 runs/s ratio": round(
          median("ours", "tenHzCpuMs") / Math.max(median("peer", "tenHzCpuMs"), 0.001),
          3,
        ),
      },
    },
  ];
}

async function child(side: "ours" | "peer"): Promise<void> {
  const model = buildMlpClassifier({ inputSize: 256, hiddenSizes: [512, 512], classes: 10, seed: 3 });
  const dir = await writeModuleDir(model.bytes, {
    name: "idle",
    version: "1.0.0",
    inputs: [{ name: "features", datatype: "FP32", shape: [-1, 256] }],
    outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 10] }],
  });
  const feeds = () => ({ features: new Tensor("float32", new Float32Array(256).fill(0.3), [1, 256]) });
  let run: () => Promise<unknown>;
  if (side === "ours") {
    const module = await loadModule({ dir: dir.dir, manifest: dir.manifest });
    run = () => module.run(feeds());
  } else {
    const path = `${dir.dir}/peer.onnx`;
    await writeFile(path, model.bytes);
    const session = await InferenceSession.create(path);
    run = () => session.run(feeds());
  }
  for (let i = 0; i < 200; i++) await run();
  const cpuMs = (since: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1000;
  };
  let start = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
  const idleCpuMs = cpuMs(start);
  start = process.cpuUsage();
  for (let i = 0; i < (WINDOW_MS / 1000) * 10; i++) {
    await run();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const tenHzCpuMs = cpuMs(start);
  answer({ idleCpuMs, tenHzCpuMs } satisfies Measured);
  await dir.cleanup();
  process.exit(0);
}

if (isMainModule(import.meta.url) && process.argv.includes("--child")) {
  await child(process.argv[process.argv.indexOf("--child") + 1] as "ours" | "peer");
}

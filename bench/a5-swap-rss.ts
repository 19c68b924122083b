/**
 * A5: process RSS after 50 hot swaps (load the next version, warm it up, run it, drain and release
 * the previous one, as the reconciler does) against RSS after the first load, in a fresh child
 * process. onnxruntime-node leaks on repeated session create/release (upstream issue #25325); the
 * agent bounds it by recycling the inference worker every 20 swaps (inference-pool.ts). The same
 * run with recycling off is reported beside it.
 */
import { Tensor } from "onnxruntime-node";
import { InferenceRuntime } from "../agent/runtime/inference-runtime.js";
import { type LoadedModule, loadModule } from "../agent/runtime/loaded-module.js";
import { writeModuleDir } from "../agent/runtime/test-modules.js";
import { buildMlpClassifier } from "../modules/onnx/models.js";
import { answer, isMainModule, startChild } from "./child.js";
import { type BenchResult, round } from "./stats.js";

const SWAPS = 50;
const MB = 1024 * 1024;

interface Measured {
  first: number;
  after: number;
  recycles: number;
  executor: string;
}

/** Runs A5. */
export async function benchSwapRss(): Promise<BenchResult[]> {
  const run = async (recycleAfter: number) => {
    const child = startChild<Measured>(import.meta.url, [String(recycleAfter)]);
    try {
      return await child.ready;
    } finally {
      await child.stop();
    }
  };
  const ours = await run(20);
  const off = await run(0);
  const ratio = ours.after / ours.first;
  return [
    {
      id: "A5",
      what: `RSS after ${SWAPS} hot swaps vs after the first load, MLP 512-1024x3-10 (10 MB, ${ours.executor}), worker recycled every 20 swaps`,
      ours: round(ours.after / MB),
      peer: round(ours.first / MB),
      unit: "MiB",
      ratio: round(ratio, 2),
      goal: "<= 1.2x",
      met: ratio <= 1.2,
      details: {
        recycles: ours.recycles,
        "recycling off: RSS after first load (MiB)": round(off.first / MB),
        "recycling off: RSS after 50 swaps (MiB)": round(off.after / MB),
        "recycling off: ratio": round(off.after / off.first, 2),
      },
    },
  ];
}

async function child(recycleAfter: number): Promise<void> {
  const model = buildMlpClassifier({ inputSize: 512, hiddenSizes: [1024, 1024, 1024], classes: 10, seed: 1 });
  const dir = await writeModuleDir(model.bytes, {
    name: "swapped",
    version: "1.0.0",
    inputs: [{ name: "features", datatype: "FP32", shape: [-1, 512] }],
    outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 10] }],
  });
  const runtime = new InferenceRuntime({ recycleAfterReleases: recycleAfter });
  const load = async () => {
    const module = await loadModule({ dir: dir.dir, manifest: dir.manifest, runtime });
    await module.run({ features: new Tensor("float32", new Float32Array(512).fill(0.2), [1, 512]) });
    return module;
  };
  let current: LoadedModule = await load();
  const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
  await settle();
  const first = process.memoryUsage.rss();
  for (let i = 0; i < SWAPS; i++) {
    const next = await load();
    await current.drainAndDispose();
    current = next;
  }
  await settle();
  answer({
    first,
    after: process.memoryUsage.rss(),
    recycles: runtime.pool.restarts.recycle,
    executor: current.executorKind,
  } satisfies Measured);
  await current.drainAndDispose();
  await runtime.close();
  await dir.cleanup();
  process.exit(0);
}

if (isMainModule(import.meta.url) && process.argv.includes("--child")) {
  await child(Number(process.argv[process.argv.indexOf("--child") + 1]));
}

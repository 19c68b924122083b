/**
 * A5: process RSS after 50 hot swaps (load the next version, warm it up, run it, drain and release
 * the previous one, as the reconciler does) against RSS after the first load, in a fresh child
 * process. onnxruntime-node has leaked on repeated session create/release (upstream issue #25325).
 * Beside the figure: RSS after the first swap (the high-water mark of two resident versions), the
 * same run with the worker recycled every 20 swaps, and a control that releases before it loads.
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
  afterOne: number;
  afterTen: number;
  after: number;
  recycles: number;
  executor: string;
}

/** Runs A5. */
export async function benchSwapRss(): Promise<BenchResult[]> {
  const run = async (order: "make-before-break" | "break-before-make", recycleAfter: number) => {
    const child = startChild<Measured>(import.meta.url, [order, String(recycleAfter)]);
    try {
      return await child.ready;
    } finally {
      await child.stop();
    }
  };
  const ours = await run("make-before-break", 0);
  const recycled = await run("make-before-break", 20);
  const control = await run("break-before-make", 0);
  const ratio = ours.after / ours.first;
  const mib = (bytes: number) => round(bytes / MB);
  return [
    {
      id: "A5",
      what: `RSS after ${SWAPS} hot swaps (make-before-break, as the agent swaps) vs after the first load, MLP 512-1024x3-10 (10 MB, ${ours.executor})`,
      ours: mib(ours.after),
      peer: mib(ours.first),
      unit: "MiB",
      ratio: round(ratio, 2),
      goal: "<= 1.2x",
      met: ratio <= 1.2,
      details: {
        "after 1 swap (two versions were resident)": mib(ours.afterOne),
        "after 10 swaps": mib(ours.afterTen),
        "after 50 / after 1 swap": round(ours.after / ours.afterOne, 2),
        "worker recycled every 20 swaps: after 50": mib(recycled.after),
        recycles: recycled.recycles,
        "control, release before load: first": mib(control.first),
        "control: after 50": mib(control.after),
      },
    },
  ];
}

async function child(order: "make-before-break" | "break-before-make", recycleAfter: number): Promise<void> {
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
  let afterOne = 0;
  let afterTen = 0;
  for (let i = 1; i <= SWAPS; i++) {
    if (order === "make-before-break") {
      const next = await load();
      await current.drainAndDispose();
      current = next;
    } else {
      await current.drainAndDispose();
      current = await load();
    }
    if (i === 1) afterOne = process.memoryUsage.rss();
    if (i === 10) afterTen = process.memoryUsage.rss();
  }
  await settle();
  answer({
    first,
    afterOne,
    afterTen,
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
  const at = process.argv.indexOf("--child");
  await child(
    process.argv[at + 1] as "make-before-break" | "break-before-make",
    Number(process.argv[at + 2]),
  );
}

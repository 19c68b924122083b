/**
 * A7: what checking the model file against its manifest sha256 adds to loading a module, at boot
 * and at every update (agent/runtime/model-integrity.ts). Ours: the streamed sha256 check of the
 * file; peer: the rest of the load (session creation, signature check, warm-up, executor choice),
 * both in the same process on the same file, median of 5 alternating runs, for a 10 MB and a
 * 40 MB MLP.
 */
import { join } from "node:path";
import { InferenceRuntime } from "../agent/runtime/inference-runtime.js";
import { loadModule } from "../agent/runtime/loaded-module.js";
import { verifyModelFile } from "../agent/runtime/model-integrity.js";
import { writeModuleDir } from "../agent/runtime/test-modules.js";
import { buildMlpClassifier } from "../modules/onnx/models.js";
import { type BenchResult, quantile, round } from "./stats.js";

const RUNS = 5;

export async function benchModelCheck(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const hidden of [1024, 2048]) {
    const model = buildMlpClassifier({
      inputSize: 512,
      hiddenSizes: [hidden, hidden, hidden],
      classes: 10,
      seed: 1,
    });
    const module = await writeModuleDir(model.bytes, {
      name: "checked",
      version: "1.0.0",
      inputs: [{ name: "features", datatype: "FP32", shape: [-1, 512] }],
      outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 10] }],
    });
    const runtime = new InferenceRuntime({});
    const checks: number[] = [];
    const rest: number[] = [];
    try {
      for (let i = 0; i < RUNS; i++) {
        const started = performance.now();
        await verifyModelFile(join(module.dir, "model.onnx"), module.manifest.model, module.manifest);
        const checked = performance.now();
        const loaded = await loadModule({ dir: module.dir, manifest: module.manifest, runtime });
        const total = performance.now() - checked;
        await loaded.drainAndDispose();
        checks.push(checked - started);
        // loadModule checks the file itself too: the rest of the load is its time minus one check.
        rest.push(Math.max(0.001, total - (checked - started)));
      }
    } finally {
      await runtime.close();
      await module.cleanup();
    }
    const ours = quantile(checks, 0.5);
    const peer = quantile(rest, 0.5);
    const ratio = ours / peer;
    const mb = model.bytes.length / 1e6;
    results.push({
      id: "A7",
      what: `sha256 check of the model file before load vs the rest of the load, MLP 512-${hidden}x3-10 (${round(mb)} MB)`,
      ours: round(ours, 2),
      peer: round(peer, 2),
      unit: "ms",
      ratio: round(ratio, 2),
      goal: "<= 0.5x",
      met: ratio <= 0.5,
      details: { "check MB/s": round(mb / (ours / 1000)), runs: RUNS },
    });
  }
  return results;
}

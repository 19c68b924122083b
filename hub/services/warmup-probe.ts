/**
 * Packaging probes the warm-up a device will run, so a module that could never load is refused at
 * the hub with the field that fixes it, instead of failing on every device. Given
 * `runtime.warmupInputs` must run; without them the agent's defaults (zeros, dynamic dimensions 1)
 * are tried, and when those fail (a reflect pad that needs length ≥ 2, a window of 512 samples)
 * the probe tries larger dynamic dimensions and ones, and records the first feeds that run as the
 * module's `runtime.warmupInputs`.
 */
import * as ort from "onnxruntime-node";
import type { Logger } from "../../lib/log.js";
import { InvalidManifestError } from "../../modules/errors.js";
import type { Manifest, WarmupInput } from "../../modules/manifest.js";
import { inspectOnnx } from "../../modules/onnx/inspect.js";
import { describeWarmup, WARMUP_FIX, warmupTensors } from "../../modules/warmup.js";

/** Sizes tried for every dynamic dimension after the batch one, smallest first. */
const PROBE_SIZES = [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] as const;

const ORT_TYPES: Record<string, ort.Tensor.Type> = {
  BOOL: "bool",
  UINT8: "uint8",
  UINT16: "uint16",
  UINT32: "uint32",
  UINT64: "uint64",
  INT8: "int8",
  INT16: "int16",
  INT32: "int32",
  INT64: "int64",
  FP16: "float16",
  FP32: "float32",
  FP64: "float64",
  BYTES: "string",
};

export interface WarmupProbeResult {
  /** Warm-up inputs to record in the manifest; undefined when the given or default ones ran. */
  warmupInputs?: Record<string, WarmupInput>;
  /** What ran, in words (for the log). */
  ran: string;
}

/**
 * Runs the module's warm-up on onnxruntime; throws InvalidManifestError naming
 * runtime.warmupInputs when neither the given inputs nor any probed ones run.
 */
export async function probeWarmup(
  modelBytes: Uint8Array,
  manifest: Manifest,
  log: Logger,
): Promise<WarmupProbeResult> {
  if (manifest.runtime.warmupRuns === 0) return { ran: "nothing (warmupRuns 0)" };
  const session = await ort.InferenceSession.create(modelBytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: "basic",
  });
  try {
    const attempt = async (source: Pick<Manifest, "inputs" | "runtime">) => {
      const tensors = warmupTensors(source);
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(tensors)) {
        feeds[name] = new ort.Tensor(ORT_TYPES[t.datatype]!, t.data as never, t.shape);
      }
      try {
        await session.run(feeds);
        return { ok: true as const, described: describeWarmup(tensors) };
      } catch (error) {
        return { ok: false as const, described: describeWarmup(tensors), message: (error as Error).message };
      }
    };
    const first = await attempt(manifest);
    if (first.ok) return { ran: first.described };
    if (manifest.runtime.warmupInputs !== undefined) {
      throw new InvalidManifestError([
        `runtime.warmupInputs do not run (${first.described}): ${first.message.slice(0, 400)}`,
      ]);
    }
    for (const candidate of candidates(manifest, batchDims(modelBytes))) {
      const result = await attempt({
        inputs: manifest.inputs,
        runtime: { ...manifest.runtime, warmupInputs: candidate },
      });
      if (result.ok) {
        log.info({ event: "module.warmup_probed", module: manifest.name, ran: result.described });
        return { warmupInputs: candidate, ran: result.described };
      }
    }
    throw new InvalidManifestError([
      `the model does not run on the default warm-up inputs (${first.described}): ${first.message.slice(0, 400)}; ` +
        `larger dynamic dimensions (${PROBE_SIZES[0]}-${PROBE_SIZES.at(-1)}) and ones did not run either; ${WARMUP_FIX}`,
    ]);
  } finally {
    await session.release().catch(() => undefined);
  }
}

/**
 * Which dimensions of each input are the batch: dimension 0 when dynamic, and any dimension named
 * like the inputs' leading symbol (a state [layers, batch, 64]). The probe keeps those at 1.
 */
function batchDims(modelBytes: Uint8Array): (input: string, axis: number) => boolean {
  const { inputs, symbols } = inspectOnnx(modelBytes);
  const leading = inputs.map((spec) => symbols.inputs[spec.name]?.[0] ?? null).find((s) => s !== null);
  return (input, axis) => axis === 0 || (leading !== undefined && symbols.inputs[input]?.[axis] === leading);
}

/** Probe feeds: every non-batch dynamic dimension at each size in turn, then ones at the default shapes. */
function* candidates(
  manifest: Manifest,
  isBatch: (input: string, axis: number) => boolean,
): Generator<Record<string, WarmupInput>> {
  const shapeOf = (spec: Manifest["inputs"][number], size: number) =>
    spec.shape.map((dim, i) => (dim >= 0 ? dim : isBatch(spec.name, i) ? 1 : size));
  const resizable = manifest.inputs.some((spec) =>
    spec.shape.some((dim, i) => dim < 0 && !isBatch(spec.name, i)),
  );
  if (resizable) {
    for (const size of PROBE_SIZES) {
      yield Object.fromEntries(manifest.inputs.map((spec) => [spec.name, { shape: shapeOf(spec, size) }]));
    }
  }
  yield Object.fromEntries(
    manifest.inputs.map((spec) => [
      spec.name,
      {
        shape: shapeOf(spec, 1),
        ...(spec.datatype === "FP16"
          ? {}
          : { data: [spec.datatype === "BYTES" ? "1" : spec.datatype === "BOOL" ? true : 1] }),
      },
    ]),
  );
}

/**
 * Creates a module's session where it should run. "worker" and "auto" load it in a pool worker
 * first, so even a large model never blocks the main thread while it loads or warms up. "auto" then
 * times runs at the module's largest batch in the worker: if one takes at most the runtime's
 * `inlineMaxMs`, the model is tiny, the thread hop would cost more than it saves, and the session
 * is recreated inline and the worker copy released (an idle worker stops). Without warm-up runs
 * there is nothing to time, and auto keeps the worker.
 */
import { InferenceSession, Tensor } from "onnxruntime-node";
import type { Manifest, TensorSpec } from "../../modules/manifest.js";
import { ortTypeOf, zeroData } from "./datatypes.js";
import { type Executor, InlineExecutor, WorkerExecutor } from "./executor.js";
import type { InferenceRuntime } from "./inference-runtime.js";
import { sessionOptions } from "./session-options.js";
import { elementCount } from "./tensor-json.js";

/** How many timed runs "auto" makes at most; it stops at the first one over the threshold. */
const TIMED_RUNS = 3;

export interface ExecutorChoice {
  executor: Executor;
  inputMetadata: readonly InferenceSession.ValueMetadata[];
  outputMetadata: readonly InferenceSession.ValueMetadata[];
  /** Median timed run in ms when "auto" measured one. */
  timedRunMs?: number;
}

/** Where a step of the load failed, so the caller can word its ModuleLoadError. */
export class LoadStepError extends Error {
  constructor(
    readonly step: "create" | "warmup",
    readonly reason: unknown,
  ) {
    super((reason as Error)?.message ?? String(reason));
    this.name = "LoadStepError";
  }
}

/** Zero-filled feeds for every input; dimension 0, when dynamic, is `rows`, other dynamic ones 1. */
export function zeroFeeds(inputs: readonly TensorSpec[], rows = 1): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const spec of inputs) {
    const shape = spec.shape.map((dim, i) => (dim < 0 ? (i === 0 ? rows : 1) : dim));
    feeds[spec.name] = new Tensor(
      ortTypeOf(spec.datatype),
      zeroData(spec.datatype, elementCount(shape)) as never,
      shape,
    );
  }
  return feeds;
}

/**
 * Creates the session (inline or in a worker), lets `check` refuse it by its metadata, warms it
 * up, and for "auto" decides inline or worker by timing. Releases everything it made on failure.
 */
export async function chooseExecutor(options: {
  path: string;
  manifest: Manifest;
  runtime: InferenceRuntime;
  /** Largest batch the module will run (1 without batching). */
  batchRows: number;
  check: (metadata: Pick<ExecutorChoice, "inputMetadata" | "outputMetadata">) => void;
}): Promise<ExecutorChoice> {
  const { path, manifest, runtime } = options;
  const { runtime: opts, inputs } = manifest;
  if (opts.executor === "inline") return inlineSession(options, opts.warmupRuns);

  const workerSession = await runtime.pool
    .load(path, sessionOptions(opts))
    .catch((error: unknown) => Promise.reject(new LoadStepError("create", error)));
  const executor = new WorkerExecutor(workerSession);
  try {
    options.check(workerSession.metadata);
    const names = manifest.outputs.map((spec) => spec.name);
    await warmUp(executor, inputs, names, opts.warmupRuns, 1);
    let timedRunMs: number | undefined;
    if (opts.executor === "auto" && opts.warmupRuns > 0) {
      const times: number[] = [];
      for (let i = 0; i < TIMED_RUNS; i++) {
        const { runMs } = await executor
          .run(zeroFeeds(inputs, options.batchRows), names)
          .catch((error: unknown) => Promise.reject(new LoadStepError("warmup", error)));
        times.push(runMs);
        if (runMs > runtime.settings.inlineMaxMs) break;
      }
      timedRunMs = times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
      if (timedRunMs <= runtime.settings.inlineMaxMs) {
        const inline = await inlineSession(options, 1);
        await executor.release();
        return { ...inline, timedRunMs };
      }
    }
    return { executor, ...workerSession.metadata, ...(timedRunMs === undefined ? {} : { timedRunMs }) };
  } catch (error) {
    await executor.release().catch(() => undefined);
    throw error;
  }
}

async function inlineSession(
  options: Parameters<typeof chooseExecutor>[0],
  warmupRuns: number,
): Promise<ExecutorChoice> {
  const { path, manifest } = options;
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(path, sessionOptions(manifest.runtime));
  } catch (error) {
    throw new LoadStepError("create", error);
  }
  const executor = new InlineExecutor(session);
  try {
    options.check(session);
    const names = manifest.outputs.map((spec) => spec.name);
    await warmUp(executor, manifest.inputs, names, warmupRuns, 1);
    return { executor, inputMetadata: session.inputMetadata, outputMetadata: session.outputMetadata };
  } catch (error) {
    await session.release().catch(() => undefined);
    throw error;
  }
}

async function warmUp(
  executor: Executor,
  inputs: readonly TensorSpec[],
  outputNames: readonly string[],
  runs: number,
  rows: number,
): Promise<void> {
  for (let i = 0; i < runs; i++) {
    try {
      await executor.run(zeroFeeds(inputs, rows), outputNames);
    } catch (error) {
      throw new LoadStepError("warmup", error);
    }
  }
}

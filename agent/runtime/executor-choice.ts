/**
 * Creates a module's session where it should run. "worker" and "auto" load it in a pool worker
 * first, so even a large model never blocks the main thread while it loads or warms up. "auto" then
 * times runs at the module's largest batch in the worker: if one takes at most the runtime's
 * `inlineMaxMs`, the model is tiny, the thread hop would cost more than it saves, and the session
 * is recreated inline and the worker copy released (an idle worker stops). Without warm-up runs
 * the first requests are timed instead (measuring-executor.ts). Warm-up feeds come from the
 * manifest (`runtime.warmupInputs`) or are zeros (modules/warmup.ts).
 */
import { InferenceSession, Tensor } from "onnxruntime-node";
import type { Logger } from "../../lib/log.js";
import type { Manifest } from "../../modules/manifest.js";
import { warmupTensors } from "../../modules/warmup.js";
import { ortTypeOf } from "./datatypes.js";
import { type Executor, InlineExecutor, WorkerExecutor } from "./executor.js";
import type { InferenceRuntime } from "./inference-runtime.js";
import { MeasuringExecutor } from "./measuring-executor.js";
import { sessionOptions } from "./session-options.js";

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

/** The module's warm-up feeds as onnxruntime Tensors (modules/warmup.ts); fresh buffers each call. */
export function warmupFeeds(
  manifest: Pick<Manifest, "inputs" | "runtime">,
  rows = 1,
): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(warmupTensors(manifest, rows))) {
    feeds[name] = new Tensor(ortTypeOf(t.datatype), t.data as never, t.shape);
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
  log: Logger;
}): Promise<ExecutorChoice> {
  const { path, manifest, runtime } = options;
  const { runtime: opts } = manifest;
  if (opts.executor === "inline") return inlineSession(options, opts.warmupRuns);

  const workerSession = await runtime.pool
    .load(path, sessionOptions(opts))
    .catch((error: unknown) => Promise.reject(new LoadStepError("create", error)));
  const executor = new WorkerExecutor(workerSession);
  try {
    options.check(workerSession.metadata);
    const names = manifest.outputs.map((spec) => spec.name);
    await warmUp(executor, manifest, names, opts.warmupRuns, 1);
    if (opts.executor === "auto" && opts.warmupRuns === 0) {
      const measuring = new MeasuringExecutor({
        worker: executor,
        createInline: async () =>
          new InlineExecutor(await InferenceSession.create(path, sessionOptions(opts))),
        inlineMaxMs: runtime.settings.inlineMaxMs,
        timedRuns: TIMED_RUNS,
        log: options.log,
      });
      return { executor: measuring, ...workerSession.metadata };
    }
    let timedRunMs: number | undefined;
    if (opts.executor === "auto" && opts.warmupRuns > 0) {
      const times: number[] = [];
      for (let i = 0; i < TIMED_RUNS; i++) {
        const { runMs } = await executor
          .run(warmupFeeds(manifest, options.batchRows), names)
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
    await warmUp(executor, manifest, names, warmupRuns, 1);
    return { executor, inputMetadata: session.inputMetadata, outputMetadata: session.outputMetadata };
  } catch (error) {
    await session.release().catch(() => undefined);
    throw error;
  }
}

async function warmUp(
  executor: Executor,
  manifest: Pick<Manifest, "inputs" | "runtime">,
  outputNames: readonly string[],
  runs: number,
  rows: number,
): Promise<void> {
  for (let i = 0; i < runs; i++) {
    try {
      await executor.run(warmupFeeds(manifest, rows), outputNames);
    } catch (error) {
      throw new LoadStepError("warmup", error);
    }
  }
}

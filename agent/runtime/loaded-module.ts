/**
 * A module version loaded into an ONNX Runtime session, warmed up and ready to take traffic.
 * Requests hold a lease while they use it, so an update can swap in a new version and dispose
 * this one only after the requests that already started on it have finished.
 */
import { join } from "node:path";
import type { Tensor } from "onnxruntime-node";
import { type Logger, silentLogger } from "../../lib/log.js";
import type { Manifest, TensorSpec } from "../../modules/manifest.js";
import { type DeviceFacts, manifestForDevice, selectVariant } from "../../modules/select-variant.js";
import { describeWarmup, WARMUP_FIX, warmupTensors } from "../../modules/warmup.js";
import { deviceCapabilities } from "../capabilities.js";
import { BatchScheduler } from "./batch-scheduler.js";
import type { Executor } from "./executor.js";
import { chooseExecutor, LoadStepError, warmupFeeds as manifestWarmupFeeds } from "./executor-choice.js";
import { defaultInferenceRuntime, type InferenceRuntime } from "./inference-runtime.js";
import { ModelIntegrityError, verifyModelFile } from "./model-integrity.js";
import { ModuleLoadError } from "./module-load-error.js";

export { ModuleLoadError };

import { signatureProblems } from "./signature.js";

/** A lease was asked of a module that is draining or disposed; look the module up again. */
export class ModuleUnavailableError extends Error {
  constructor(module: string, version: string, state: ModuleState) {
    super(`module ${module}@${version} is ${state} and takes no new requests`);
    this.name = "ModuleUnavailableError";
  }
}

export type ModuleState = "serving" | "draining" | "disposed";
export type Feeds = Record<string, Tensor>;
export type Outputs = Record<string, Tensor>;

export interface LoadModuleOptions {
  /** Folder the module was unpacked to; the model file is `${dir}/${manifest.model.file}`, or the chosen variant's. */
  dir: string;
  manifest: Manifest;
  log?: Logger;
  /** Profile and capabilities for choosing a variant (modules/select-variant.ts); detected capabilities only when absent. */
  device?: DeviceFacts;
  /** Worker pool and queue settings; the process's default runtime when absent. */
  runtime?: InferenceRuntime;
}

/** How long drainAndDispose waits for in-flight requests before it releases the session anyway. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/** Creates, checks and warms up a session for a module; throws ModuleLoadError and leaks nothing on failure. */
export async function loadModule(options: LoadModuleOptions): Promise<LoadedModule> {
  const { dir } = options;
  // The first variant this device satisfies replaces the base model and its runtime options.
  const device = options.device ?? { profile: null, capabilities: deviceCapabilities() };
  const manifest = manifestForDevice(
    options.manifest,
    selectVariant(options.manifest, device.profile, device.capabilities),
  );
  const log = (options.log ?? silentLogger).child({ module: manifest.name, version: manifest.version });
  const fail = (message: string, cause?: unknown) =>
    new ModuleLoadError(
      manifest.name,
      manifest.version,
      message,
      cause === undefined ? undefined : { cause },
    );
  const started = performance.now();
  const runtime = options.runtime ?? defaultInferenceRuntime();
  const maxBatch = batchable(manifest) ? manifest.runtime.maxBatch : 1;
  try {
    await verifyModelFile(join(dir, manifest.model.file), manifest.model, manifest);
  } catch (error) {
    if (!(error instanceof ModelIntegrityError))
      throw fail(`cannot read the model: ${(error as Error).message}`, error);
    throw error;
  }
  const checkedMs = performance.now() - started;
  let choice: Awaited<ReturnType<typeof chooseExecutor>>;
  try {
    choice = await chooseExecutor({
      path: join(dir, manifest.model.file),
      manifest,
      runtime,
      batchRows: maxBatch,
      log,
      check: (metadata) => {
        const problems = [
          ...signatureProblems("input", manifest.inputs, metadata.inputMetadata),
          ...signatureProblems("output", manifest.outputs, metadata.outputMetadata),
        ];
        if (problems.length > 0) throw fail(`the model does not match the manifest: ${problems.join("; ")}`);
      },
    });
  } catch (error) {
    if (!(error instanceof LoadStepError)) throw error;
    const reason = error.reason as Error;
    throw error.step === "create"
      ? fail(`cannot create a session from ${manifest.model.file}: ${reason.message}`, reason)
      : fail(
          `warm-up run failed on ${describeWarmup(warmupTensors(manifest))}: ${reason.message.trim()}; ${WARMUP_FIX}`,
          reason,
        );
  }
  const loadMs = performance.now() - started;
  log.info({
    event: "module.loaded",
    loadMs,
    checkMs: checkedMs,
    warmupRuns: manifest.runtime.warmupRuns,
    executor: choice.executor.kind,
    timedRunMs: choice.timedRunMs,
    maxBatch,
  });
  return new LoadedModule(choice.executor, dir, manifest, log, { runtime, maxBatch });
}

/** Batching needs dimension 0 dynamic on every input and output (the batch dimension). */
export function batchable(manifest: Manifest): boolean {
  if (manifest.runtime.maxBatch <= 1) return false;
  return [...manifest.inputs, ...manifest.outputs].every(
    (spec) => spec.shape.length > 0 && spec.shape[0]! < 0,
  );
}

/** The module's warm-up feeds at batch 1: the manifest's warm-up inputs, zeros for the rest. */
export function warmupFeeds(manifest: Pick<Manifest, "inputs" | "runtime">): Feeds {
  return manifestWarmupFeeds(manifest, 1);
}

/** A warm session plus the manifest it was loaded for. Create with loadModule. */
export class LoadedModule {
  readonly name: string;
  readonly version: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly loadedAt = new Date();
  #state: ModuleState = "serving";
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #disposing: Promise<{ timedOut: boolean }> | undefined;
  readonly #scheduler: BatchScheduler;
  readonly #outputNames: string[];

  constructor(
    private readonly executor: Executor,
    readonly dir: string,
    readonly manifest: Manifest,
    private readonly log: Logger,
    options: { runtime: InferenceRuntime; maxBatch: number },
  ) {
    this.name = manifest.name;
    this.version = manifest.version;
    this.inputs = manifest.inputs;
    this.outputs = manifest.outputs;
    this.#outputNames = manifest.outputs.map((spec) => spec.name);
    const { runtime } = options;
    this.#scheduler = new BatchScheduler({
      module: manifest.name,
      executor,
      maxBatch: options.maxBatch,
      maxQueueDelayMs: manifest.runtime.maxQueueDelayMs,
      maxQueue: manifest.runtime.maxQueue,
      timeoutMs: manifest.runtime.timeoutMs ?? runtime.settings.requestTimeoutMs,
      onBatch: (batch) =>
        runtime.emit({
          kind: "batch",
          module: this.name,
          version: this.version,
          executor: executor.kind,
          ...batch,
        }),
      onBatchingDisabled: (reason) => log.warn({ event: "module.batching_disabled", reason }),
    });
  }

  /** Where runs happen: "inline" (main thread) or "worker" (a pool thread). */
  get executorKind(): "inline" | "worker" {
    return this.executor.kind;
  }

  /** Requests waiting for a run. */
  get queueDepth(): number {
    return this.#scheduler.queueDepth;
  }

  /** Most rows per run (1: batching off). */
  get maxBatch(): number {
    return this.#scheduler.maxBatch;
  }

  /** serving, draining (no new leases; waiting for in-flight ones) or disposed. */
  get state(): ModuleState {
    return this.#state;
  }

  /** Leases currently held (requests in flight on this version). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Runs the session through the module's queue: bounded (OverloadedError when full), with a
   * deadline (InferenceTimeoutError), stacked with concurrent requests into one run when the model
   * batches, and off the main thread unless the model is tiny (executor-choice.ts). A worker
   * executor takes ownership of the feeds' buffers.
   */
  async run(feeds: Feeds, outputNames?: readonly string[]): Promise<Outputs> {
    if (this.#state === "disposed") throw new ModuleUnavailableError(this.name, this.version, this.#state);
    // Count the run itself too, so a caller that skipped the lease still cannot lose its session.
    this.#inFlight++;
    try {
      return await this.#scheduler.submit(feeds, outputNames ?? this.#outputNames);
    } finally {
      this.#leave();
    }
  }

  /** Takes a lease; throws ModuleUnavailableError once the module is draining. Pair with release(). */
  acquire(): void {
    if (this.#state !== "serving") throw new ModuleUnavailableError(this.name, this.version, this.#state);
    this.#inFlight++;
  }

  /** Returns a lease taken with acquire(). */
  release(): void {
    this.#leave();
  }

  /** Runs `fn` under a lease: the session stays alive until `fn` settles. */
  async withLease<T>(fn: (module: LoadedModule) => Promise<T>): Promise<T> {
    this.acquire();
    try {
      return await fn(this);
    } finally {
      this.release();
    }
  }

  /**
   * Stops new leases, waits for in-flight ones (at most `timeoutMs`), then releases the session.
   * Safe to call more than once; later calls share the first call's outcome.
   */
  drainAndDispose(timeoutMs = DEFAULT_DRAIN_TIMEOUT_MS): Promise<{ timedOut: boolean }> {
    this.#disposing ??= this.#drainAndDispose(timeoutMs);
    return this.#disposing;
  }

  async #drainAndDispose(timeoutMs: number): Promise<{ timedOut: boolean }> {
    this.#state = "draining";
    let timedOut = false;
    if (this.#inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        timer = setTimeout(() => {
          timedOut = true;
          resolve();
        }, timeoutMs);
      });
      clearTimeout(timer);
      this.#drained = undefined;
    }
    if (timedOut) this.log.warn({ event: "module.drain_timeout", inFlight: this.#inFlight, timeoutMs });
    this.#state = "disposed";
    try {
      await this.#scheduler.close(() => new ModuleUnavailableError(this.name, this.version, "disposed"));
      await this.executor.release();
    } catch (error) {
      this.log.warn({ event: "module.release_failed", err: error });
    }
    this.log.info({ event: "module.disposed" });
    return { timedOut };
  }

  #leave(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) this.#drained?.();
  }
}

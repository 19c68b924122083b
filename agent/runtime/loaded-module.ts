/**
 * A module version loaded into an ONNX Runtime session, warmed up and ready to take traffic.
 * Requests hold a lease while they use it, so an update can swap in a new version and dispose
 * this one only after the requests that already started on it have finished.
 */
import { join } from "node:path";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { type Logger, silentLogger } from "../../lib/log.js";
import type { Manifest, TensorSpec } from "../../modules/manifest.js";
import { type DeviceFacts, manifestForDevice, selectVariant } from "../../modules/select-variant.js";
import { deviceCapabilities } from "../capabilities.js";
import { ortTypeOf, zeroData } from "./datatypes.js";
import { sessionOptions } from "./session-options.js";
import { signatureProblems } from "./signature.js";
import { elementCount } from "./tensor-json.js";

/** A module could not be loaded: bad model file, unsupported execution provider, manifest mismatch. */
export class ModuleLoadError extends Error {
  constructor(
    readonly module: string,
    readonly version: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`module ${module}@${version}: ${message}`, options);
    this.name = "ModuleLoadError";
  }
}

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
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(join(dir, manifest.model.file), sessionOptions(manifest.runtime));
  } catch (error) {
    throw fail(`cannot create a session from ${manifest.model.file}: ${(error as Error).message}`, error);
  }
  try {
    const problems = [
      ...signatureProblems("input", manifest.inputs, session.inputMetadata),
      ...signatureProblems("output", manifest.outputs, session.outputMetadata),
    ];
    if (problems.length > 0) throw fail(`the model does not match the manifest: ${problems.join("; ")}`);
    for (let i = 0; i < manifest.runtime.warmupRuns; i++) {
      try {
        await session.run(warmupFeeds(manifest.inputs));
      } catch (error) {
        throw fail(`warm-up run failed: ${(error as Error).message}`, error);
      }
    }
  } catch (error) {
    await session.release().catch(() => undefined);
    throw error;
  }
  const loadMs = performance.now() - started;
  log.info({ event: "module.loaded", loadMs, warmupRuns: manifest.runtime.warmupRuns });
  return new LoadedModule(session, dir, manifest, log);
}

/** Zero-filled feeds for every input; dynamic dimensions become 1. */
export function warmupFeeds(inputs: readonly TensorSpec[]): Feeds {
  const feeds: Feeds = {};
  for (const spec of inputs) {
    const shape = spec.shape.map((dim) => (dim < 0 ? 1 : dim));
    feeds[spec.name] = new Tensor(
      ortTypeOf(spec.datatype),
      zeroData(spec.datatype, elementCount(shape)) as never,
      shape,
    );
  }
  return feeds;
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

  constructor(
    private readonly session: InferenceSession,
    readonly dir: string,
    readonly manifest: Manifest,
    private readonly log: Logger,
  ) {
    this.name = manifest.name;
    this.version = manifest.version;
    this.inputs = manifest.inputs;
    this.outputs = manifest.outputs;
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
   * Runs the session. Inference runs inline on the main thread for now: onnxruntime-node's run is
   * a synchronous native call behind a setImmediate (reference/performance.md §1.1), and for the
   * small tabular models devices run today that is the cheapest path; a worker pool for heavier
   * models comes in a later issue and will slot in behind this method.
   */
  async run(feeds: Feeds, outputNames?: readonly string[]): Promise<Outputs> {
    if (this.#state === "disposed") throw new ModuleUnavailableError(this.name, this.version, this.#state);
    // Count the run itself too, so a caller that skipped the lease still cannot lose its session.
    this.#inFlight++;
    try {
      return outputNames === undefined
        ? await this.session.run(feeds)
        : await this.session.run(feeds, outputNames as string[]);
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
      await this.session.release();
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

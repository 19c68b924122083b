/**
 * The inference side of an agent process: the worker pool, the settings every module's queue uses
 * (deadline, inline threshold), and a stream of run events for metrics. Workers and onnxruntime's
 * environment are process resources, so there is one default runtime per process; the agent
 * configures it at start-up and tests that need their own pass a runtime to loadModule.
 */
import { type Logger, silentLogger } from "../../lib/log.js";
import { DEFAULT_RECYCLE_AFTER_RELEASES, InferencePool, type PoolEvent } from "./inference-pool.js";
import { inferenceWorkerScript } from "./worker-script.js";

export interface InferenceSettings {
  /** Worker threads for off-thread inference. */
  workers: number;
  /**
   * A module whose warm-up run takes at most this long (at its largest batch) runs inline on the
   * main thread. Measured here: a worker round trip costs ~0.05-0.1 ms, so below ~1 ms the hop
   * would be a large share of the run, while a ≤1 ms stall is invisible to health checks and MQTT
   * keepalives (seconds). Above it the hop is noise and the event loop stays free.
   */
  inlineMaxMs: number;
  /** Default per-request deadline (queue wait plus run); a manifest's runtime.timeoutMs overrides it. */
  requestTimeoutMs: number;
  /** Recycle a worker after this many session releases on it (0: never). */
  recycleAfterReleases: number;
  /** Recycle a worker after a release when process RSS exceeds this many bytes (0: never). */
  recycleRssBytes: number;
  /** The worker script; bundled builds pass their own. */
  workerScript?: () => Promise<URL>;
  log?: Logger;
}

export const DEFAULT_INFERENCE_SETTINGS: InferenceSettings = {
  workers: 1,
  inlineMaxMs: 1,
  requestTimeoutMs: 10_000,
  recycleAfterReleases: DEFAULT_RECYCLE_AFTER_RELEASES,
  recycleRssBytes: 0,
};

/** One run of a module's session, for metrics. */
export interface BatchEvent {
  kind: "batch";
  module: string;
  version: string;
  executor: "inline" | "worker";
  requests: number;
  rows: number;
  runMs: number;
  ok: boolean;
}

export type RuntimeEvent = BatchEvent | PoolEvent;

/** Pool + settings + events. */
export class InferenceRuntime {
  readonly settings: InferenceSettings;
  readonly pool: InferencePool;
  readonly #listeners = new Set<(event: RuntimeEvent) => void>();

  constructor(settings: Partial<InferenceSettings> = {}) {
    this.settings = { ...DEFAULT_INFERENCE_SETTINGS, ...settings };
    this.pool = new InferencePool({
      script: this.settings.workerScript ?? inferenceWorkerScript,
      workers: this.settings.workers,
      recycleAfterReleases: this.settings.recycleAfterReleases,
      recycleRssBytes: this.settings.recycleRssBytes,
      log: this.settings.log ?? silentLogger,
    });
    this.pool.on((event) => this.emit(event));
  }

  /** Subscribes to run and worker events; returns the unsubscribe function. */
  on(listener: (event: RuntimeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Publishes an event to the listeners. */
  emit(event: RuntimeEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  /** Stops the workers. */
  close(): Promise<void> {
    return this.pool.close();
  }
}

let processRuntime: InferenceRuntime | undefined;

/** The process's runtime, created with defaults on first use. */
export function defaultInferenceRuntime(): InferenceRuntime {
  processRuntime ??= new InferenceRuntime();
  return processRuntime;
}

/**
 * Replaces the process's runtime with one built from `settings` (the agent at start-up). Modules
 * already loaded keep the runtime they were loaded with until they are disposed.
 */
export function configureDefaultInferenceRuntime(settings: Partial<InferenceSettings>): InferenceRuntime {
  processRuntime = new InferenceRuntime(settings);
  return processRuntime;
}

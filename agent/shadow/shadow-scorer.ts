/**
 * Shadow scoring on the device: a candidate version loaded beside the serving one scores a copy of
 * every request after the serving version has answered it, off the request path, and its answers
 * are compared with the ones given. Nothing the candidate does reaches a client: its run starts on
 * a later event-loop turn, a busy candidate skips requests (counted as dropped) instead of queueing
 * them, and its errors are counted, never thrown. The figures ride on the serving version's
 * telemetry window [WIRE-5.4].
 */
import { Tensor } from "onnxruntime-node";
import type { Logger } from "../../lib/log.js";
import type { ImageGeometry } from "../../modules/image-geometry.js";
import { postprocess } from "../../modules/index.js";
import type { ModuleWindow, ShadowSummary } from "../../wire/messages.js";
import type { Feeds, LoadedModule } from "../runtime/loaded-module.js";
import { TelemetryRecorder } from "../telemetry/recorder.js";

/** Shadow defaults. */
export const SHADOW_DEFAULTS = {
  /** Candidate runs of one module in flight at once; more requests meanwhile are dropped (count). */
  maxInFlight: 2,
  /** Numbers closer than this (relative to max(1, |serving|)) count as the same answer. */
  numericTolerance: 1e-3,
} as const;

interface Comparison {
  compared: number;
  agreed: number;
  shiftSum: number;
  shiftRows: number;
  dropped: number;
}

interface Shadow {
  module: LoadedModule;
  inFlight: number;
  /** Keyed by the serving version the requests were answered by. */
  byServing: Map<string, Comparison>;
}

/** The candidates loaded on this agent, one per module name, and what they measured. */
export class ShadowScorer {
  readonly #shadows = new Map<string, Shadow>();
  /** The candidates' own request statistics (latency, errors, label counts), keyed by candidate version. */
  #recorder = new TelemetryRecorder();
  readonly #log: Logger | undefined;

  constructor(options: { log?: Logger } = {}) {
    this.#log = options.log;
  }

  /** The candidate of a module, if one is loaded. */
  get(name: string): LoadedModule | undefined {
    return this.#shadows.get(name)?.module;
  }

  /** Names and versions of the loaded candidates. */
  list(): { name: string; version: string }[] {
    return [...this.#shadows.entries()].map(([name, s]) => ({ name, version: s.module.version }));
  }

  /** Installs a candidate; returns the one it replaces (for the caller to drain and dispose). */
  set(module: LoadedModule): LoadedModule | undefined {
    const previous = this.#shadows.get(module.name)?.module;
    this.#shadows.set(module.name, { module, inFlight: 0, byServing: new Map() });
    return previous;
  }

  /** Removes a module's candidate; returns it for the caller to drain and dispose. */
  remove(name: string): LoadedModule | undefined {
    const shadow = this.#shadows.get(name);
    this.#shadows.delete(name);
    return shadow?.module;
  }

  /**
   * Copies the feeds of a request about to be run by `serving`, when its module has a candidate:
   * a worker executor takes ownership of the originals. Undefined when there is nothing to shadow.
   */
  capture(serving: LoadedModule, feeds: Feeds): Feeds | undefined {
    const shadow = this.#shadows.get(serving.name);
    if (!shadow || shadow.module.version === serving.version) return undefined;
    const comparison = this.#comparison(shadow, serving.version);
    if (shadow.inFlight >= SHADOW_DEFAULTS.maxInFlight) {
      comparison.dropped++;
      return undefined;
    }
    const copy: Feeds = {};
    for (const [name, tensor] of Object.entries(feeds)) copy[name] = cloneTensor(tensor);
    return copy;
  }

  /**
   * After the serving version answered: the candidate scores the captured copy on a later turn and
   * compares its predictions with the answer given. Never throws, never delays the caller.
   */
  score(
    serving: LoadedModule,
    captured: Feeds,
    batchSize: number,
    answered: readonly unknown[],
    /** Image requests: where each image landed, so the candidate's boxes map back as the answer's did. */
    images?: readonly ImageGeometry[],
  ): void {
    const shadow = this.#shadows.get(serving.name);
    if (!shadow) return;
    shadow.inFlight++;
    setImmediate(() => {
      void this.#run(shadow, serving.version, captured, batchSize, answered, images).finally(
        () => shadow.inFlight--,
      );
    });
  }

  /** Adds each module's shadow summary to its serving version's window and starts new counts. */
  attach(windows: ModuleWindow[]): ModuleWindow[] {
    const candidates = new Map(
      this.#recorder.takeWindow().map((w) => [`${w.name}@${w.version}`, w] as const),
    );
    for (const window of windows) {
      const shadow = this.#shadows.get(window.name);
      if (!shadow) continue;
      const comparison = shadow.byServing.get(window.version);
      shadow.byServing.delete(window.version);
      const own = candidates.get(`${window.name}@${shadow.module.version}`);
      if (!comparison && !own) continue;
      window.shadow = summary(shadow.module.version, comparison, own);
    }
    return windows;
  }

  async #run(
    shadow: Shadow,
    servingVersion: string,
    feeds: Feeds,
    batchSize: number,
    answered: readonly unknown[],
    images: readonly ImageGeometry[] | undefined,
  ): Promise<void> {
    const { module } = shadow;
    const started = performance.now();
    let predictions: unknown[] | undefined;
    try {
      const outputs = await module.withLease(() => module.run(feeds));
      predictions = postprocess(module.manifest.postprocessing, outputs, batchSize, images);
    } catch (error) {
      this.#log?.debug({
        event: "shadow.run_failed",
        module: module.name,
        version: module.version,
        err: error,
      });
    }
    // A candidate replaced or removed meanwhile: its late result belongs to no one.
    if (this.#shadows.get(module.name) !== shadow) return;
    this.#recorder.record({
      module: module.name,
      version: module.version,
      latencyMs: performance.now() - started,
      ok: predictions !== undefined,
      ...(predictions ? { predictions } : {}),
    });
    if (!predictions) return;
    const comparison = this.#comparison(shadow, servingVersion);
    for (let i = 0; i < Math.min(predictions.length, answered.length); i++) {
      const { agreed, shift } = compare(answered[i], predictions[i]);
      comparison.compared++;
      if (agreed) comparison.agreed++;
      if (shift !== null) {
        comparison.shiftSum += shift;
        comparison.shiftRows++;
      }
    }
  }

  #comparison(shadow: Shadow, servingVersion: string): Comparison {
    let comparison = shadow.byServing.get(servingVersion);
    if (!comparison) {
      comparison = { compared: 0, agreed: 0, shiftSum: 0, shiftRows: 0, dropped: 0 };
      shadow.byServing.set(servingVersion, comparison);
    }
    return comparison;
  }
}

function summary(version: string, c: Comparison | undefined, own: ModuleWindow | undefined): ShadowSummary {
  return {
    version,
    scored: own ? own.requests - own.errors : 0,
    errors: own?.errors ?? 0,
    dropped: c?.dropped ?? 0,
    compared: c?.compared ?? 0,
    agreed: c?.agreed ?? 0,
    shiftSum: c?.shiftSum ?? 0,
    shiftRows: c?.shiftRows ?? 0,
    latencyCounts: own?.latencyCounts ?? [],
    latencySumMs: own?.latencySumMs ?? 0,
    ...(own?.outputs ? { outputs: own.outputs } : {}),
  };
}

/**
 * Whether two predictions of one row agree, and how far their numbers moved. Classifier answers
 * (a `label`, or the first of `top`) agree when the labels match; other answers agree when every
 * number matches within the tolerance. The shift is the mean |candidate − serving| over the numbers
 * both hold at the same place (probabilities, scores, raw values); null when there are none.
 */
export function compare(serving: unknown, candidate: unknown): { agreed: boolean; shift: number | null } {
  const a = numbers(serving);
  const b = numbers(candidate);
  let sum = 0;
  let n = 0;
  let close = a.size === b.size;
  for (const [path, x] of a) {
    const y = b.get(path);
    if (y === undefined) {
      close = false;
      continue;
    }
    const diff = Math.abs(x - y);
    sum += diff;
    n++;
    if (diff > SHADOW_DEFAULTS.numericTolerance * Math.max(1, Math.abs(x))) close = false;
  }
  const labelA = labelOf(serving);
  const labelB = labelOf(candidate);
  const agreed = labelA !== undefined || labelB !== undefined ? labelA === labelB : close;
  return { agreed, shift: n > 0 ? sum / n : null };
}

function labelOf(prediction: unknown): string | undefined {
  if (prediction === null || typeof prediction !== "object") return undefined;
  const p = prediction as { label?: unknown; top?: { label?: unknown }[] };
  if (typeof p.label === "string" || typeof p.label === "number") return String(p.label);
  const first = Array.isArray(p.top) ? p.top[0]?.label : undefined;
  return typeof first === "string" || typeof first === "number" ? String(first) : undefined;
}

/** Every finite number in a prediction by its path ("probabilities.setosa", "values.3"). */
function numbers(value: unknown, path = "", into = new Map<string, number>()): Map<string, number> {
  if (typeof value === "number") {
    if (Number.isFinite(value)) into.set(path, value);
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) numbers(v, `${path}.${i}`, into);
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) numbers(v, `${path}.${k}`, into);
  }
  return into;
}

function cloneTensor(tensor: Tensor): Tensor {
  const data = tensor.data;
  // Strings copy as an array; typed arrays as a fresh buffer the candidate may own.
  const copy = Array.isArray(data) ? [...data] : (data as Float32Array).slice();
  return new Tensor(tensor.type as "float32", copy as Float32Array, tensor.dims);
}

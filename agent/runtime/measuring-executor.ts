/**
 * "auto" without warm-up runs: nothing was timed at load, so the module starts in a worker (never
 * wrong for a slow model) and the first requests are the measurement. Once `timedRuns` runs have
 * finished, a median at most `inlineMaxMs` means the model is tiny: an inline session is created,
 * later runs go to it, and the worker session is released after the runs still on it. A failed
 * inline load keeps the worker; the module never stops serving because of the switch.
 */
import type { Tensor } from "onnxruntime-node";
import type { Logger } from "../../lib/log.js";
import type { Executor, RunOutcome } from "./executor.js";

type Tensors = Record<string, Tensor>;

export interface MeasuringExecutorOptions {
  worker: Executor;
  /** Creates the inline executor when the measurement says so. */
  createInline: () => Promise<Executor>;
  inlineMaxMs: number;
  timedRuns: number;
  log: Logger;
  /** Called once the decision is made (tests and the load log). */
  onDecision?: (decision: { executor: "inline" | "worker"; medianRunMs: number }) => void;
}

export class MeasuringExecutor implements Executor {
  #current: Executor;
  #times: number[] = [];
  #decided = false;
  #workerInFlight = 0;
  #releaseWorker: (() => void) | undefined;
  #released = false;
  #workerReleased = false;
  #switching: Promise<void> | undefined;

  constructor(private readonly options: MeasuringExecutorOptions) {
    this.#current = options.worker;
  }

  get kind(): "inline" | "worker" {
    return this.#current.kind;
  }

  async run(feeds: Tensors, outputNames: readonly string[]): Promise<RunOutcome> {
    const executor = this.#current;
    const onWorker = executor === this.options.worker;
    if (onWorker) this.#workerInFlight++;
    try {
      const outcome = await executor.run(feeds, outputNames);
      if (!this.#decided) this.#record(outcome.runMs);
      return outcome;
    } finally {
      if (onWorker && --this.#workerInFlight === 0) this.#releaseWorker?.();
    }
  }

  /** Waits for a switch in progress (tests, and release). */
  async settled(): Promise<void> {
    await this.#switching;
  }

  async release(): Promise<void> {
    this.#released = true;
    await this.#switching?.catch(() => undefined);
    if (this.#current !== this.options.worker) await this.#current.release();
    if (!this.#workerReleased) {
      this.#workerReleased = true;
      await this.options.worker.release();
    }
  }

  #record(runMs: number): void {
    this.#times.push(runMs);
    if (this.#times.length < this.options.timedRuns) return;
    this.#decided = true;
    const sorted = [...this.#times].sort((a, b) => a - b);
    const medianRunMs = sorted[Math.floor(sorted.length / 2)]!;
    if (medianRunMs > this.options.inlineMaxMs) {
      this.options.onDecision?.({ executor: "worker", medianRunMs });
      this.options.log.info({ event: "module.executor_measured", executor: "worker", medianRunMs });
      return;
    }
    this.#switching = this.#switchInline(medianRunMs);
  }

  async #switchInline(medianRunMs: number): Promise<void> {
    let inline: Executor;
    try {
      inline = await this.options.createInline();
    } catch (error) {
      this.options.log.warn({ event: "module.executor_switch_failed", err: error, medianRunMs });
      this.options.onDecision?.({ executor: "worker", medianRunMs });
      return;
    }
    if (this.#released) {
      await inline.release();
      return;
    }
    this.#current = inline;
    this.options.log.info({ event: "module.executor_measured", executor: "inline", medianRunMs });
    this.options.onDecision?.({ executor: "inline", medianRunMs });
    // The worker copy goes once the runs already on it have finished.
    if (this.#workerInFlight > 0) await new Promise<void>((resolve) => (this.#releaseWorker = resolve));
    if (!this.#released && !this.#workerReleased) {
      this.#workerReleased = true;
      await this.options.worker.release();
    }
  }
}

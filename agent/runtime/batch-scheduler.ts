/**
 * One module's request queue: bounded, with a deadline per request, feeding one run at a time to
 * the module's executor, and stacking compatible requests into one run (micro-batching) when the
 * module's batch dimension is dynamic.
 *
 * Batching adds no latency at low load: a request that finds the module idle runs on the next
 * event-loop turn with whatever arrived in the same turn. Only while the module is busy (a run
 * just finished with requests waiting) does a partial batch wait, at most `maxQueueDelayMs` from
 * its oldest request, for more rows. That is where batching pays: requests pile up anyway.
 */
import type { Tensor } from "onnxruntime-node";
import type { Executor } from "./executor.js";
import { InferenceTimeoutError, OverloadedError } from "./runtime-errors.js";
import { batchKey, concatFeeds, rowsOf, splitOutputs, UnsplittableOutputError } from "./tensor-batch.js";

type Tensors = Record<string, Tensor>;

export interface SchedulerOptions {
  module: string;
  executor: Executor;
  /** Most rows per run; 1 turns batching off. */
  maxBatch: number;
  maxQueueDelayMs: number;
  /** Requests waiting beyond this many are refused with OverloadedError. */
  maxQueue: number;
  timeoutMs: number;
  /** Told about every run (requests and rows in it, time in session.run, success). */
  onBatch?: (batch: { requests: number; rows: number; runMs: number; ok: boolean }) => void;
  /** Told once when a model's outputs turn out not to be batch-major and batching is switched off. */
  onBatchingDisabled?: (reason: string) => void;
}

interface Job {
  feeds: Tensors;
  outputNames: readonly string[];
  key: string;
  rows: number;
  enqueuedAt: number;
  timer: NodeJS.Timeout;
  settled: boolean;
  resolve(outputs: Tensors): void;
  reject(error: Error): void;
}

/** Queue, deadlines and micro-batching in front of one executor. */
export class BatchScheduler {
  readonly #queue: Job[] = [];
  #maxBatch: number;
  #running: Promise<void> | undefined;
  #scheduled: "immediate" | "timer" | undefined;
  #delayTimer: NodeJS.Timeout | undefined;
  #busy = false;
  #closedWith: (() => Error) | undefined;
  /** Smoothed time per run, for Retry-After. */
  #avgRunMs = 1;

  constructor(private readonly options: SchedulerOptions) {
    this.#maxBatch = Math.max(1, options.maxBatch);
  }

  /** Requests waiting for a run (not counting the run in progress). */
  get queueDepth(): number {
    return this.#queue.length;
  }

  /** Most rows per run now (1 when batching is off). */
  get maxBatch(): number {
    return this.#maxBatch;
  }

  /** Queues a request; rejects with OverloadedError at once when the queue is full. */
  submit(feeds: Tensors, outputNames: readonly string[]): Promise<Tensors> {
    if (this.#closedWith) return Promise.reject(this.#closedWith());
    const { maxQueue, timeoutMs, module } = this.options;
    if (this.#queue.length >= maxQueue) {
      const runsAhead = this.#queue.length / this.#maxBatch + 1;
      const retryAfter = Math.min(60, Math.max(1, Math.ceil((runsAhead * this.#avgRunMs) / 1000)));
      return Promise.reject(new OverloadedError(module, this.#queue.length, retryAfter));
    }
    return new Promise<Tensors>((resolve, reject) => {
      const job: Job = {
        feeds,
        outputNames,
        key: this.#maxBatch > 1 ? batchKey(feeds, outputNames) : "",
        rows: rowsOf(feeds),
        enqueuedAt: performance.now(),
        settled: false,
        resolve,
        reject,
        timer: setTimeout(() => {
          const index = this.#queue.indexOf(job);
          if (index >= 0) this.#queue.splice(index, 1);
          this.#settle(job, new InferenceTimeoutError(module, timeoutMs));
        }, timeoutMs),
      };
      this.#queue.push(job);
      this.#schedule();
    });
  }

  /** Refuses new requests, fails queued ones with `error()`, and waits for the run in progress. */
  async close(error: () => Error): Promise<void> {
    this.#closedWith = error;
    clearTimeout(this.#delayTimer);
    for (const job of this.#queue.splice(0)) this.#settle(job, error());
    await this.#running;
  }

  #schedule(): void {
    if (this.#running || this.#queue.length === 0) return;
    if (this.#scheduled === "timer") {
      // A partial batch is waiting for rows: go as soon as it is full.
      if (this.#compatibleRows() >= this.#maxBatch) {
        clearTimeout(this.#delayTimer);
        this.#scheduled = undefined;
        this.#dispatch();
      }
      return;
    }
    if (this.#scheduled) return;
    if (this.#maxBatch === 1) {
      this.#dispatch();
      return;
    }
    // One turn later, so requests parsed in the same I/O phase share the run.
    this.#scheduled = "immediate";
    setImmediate(() => {
      this.#scheduled = undefined;
      this.#dispatch();
    });
  }

  #compatibleRows(): number {
    const first = this.#queue[0];
    if (first === undefined) return 0;
    return this.#queue.filter((job) => job.key === first.key).reduce((sum, job) => sum + job.rows, 0);
  }

  #dispatch(allowWait = true): void {
    if (this.#running || this.#queue.length === 0) return;
    const first = this.#queue[0]!;
    const waited = performance.now() - first.enqueuedAt;
    const wait = this.options.maxQueueDelayMs - waited;
    if (
      allowWait &&
      this.#busy &&
      this.#maxBatch > 1 &&
      wait > 0 &&
      this.#compatibleRows() < this.#maxBatch
    ) {
      this.#scheduled = "timer";
      this.#delayTimer = setTimeout(() => {
        this.#scheduled = undefined;
        this.#dispatch(false);
      }, wait);
      return;
    }
    const batch: Job[] = [];
    let rows = 0;
    for (const job of this.#queue) {
      if (batch.length > 0 && (job.key !== first.key || rows + job.rows > this.#maxBatch)) continue;
      batch.push(job);
      rows += job.rows;
      if (rows >= this.#maxBatch) break;
    }
    for (const job of batch) this.#queue.splice(this.#queue.indexOf(job), 1);
    this.#running = this.#run(batch, rows).finally(() => {
      this.#running = undefined;
      this.#busy = this.#queue.length > 0;
      this.#schedule();
    });
  }

  async #run(batch: Job[], rows: number): Promise<void> {
    const { executor, onBatch } = this.options;
    let runMs = 0;
    try {
      const feeds = concatFeeds(batch.map((job) => job.feeds));
      const outcome = await executor.run(feeds, batch[0]!.outputNames);
      runMs = outcome.runMs;
      this.#avgRunMs = 0.8 * this.#avgRunMs + 0.2 * runMs;
      const pieces = splitOutputs(
        outcome.outputs,
        batch.map((job) => job.rows),
      );
      batch.forEach((job, i) => {
        this.#settle(job, undefined, pieces[i]);
      });
      onBatch?.({ requests: batch.length, rows, runMs, ok: true });
    } catch (error) {
      onBatch?.({ requests: batch.length, rows, runMs, ok: false });
      if (error instanceof UnsplittableOutputError && batch.length > 1) {
        // The manifest said dimension 0 is the batch, the model disagrees: run one by one from now on.
        this.#maxBatch = 1;
        this.options.onBatchingDisabled?.(error.message);
        this.#queue.unshift(...batch.filter((job) => !job.settled));
        return;
      }
      for (const job of batch) this.#settle(job, error as Error);
    }
  }

  #settle(job: Job, error: Error | undefined, outputs?: Tensors): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    if (error) job.reject(error);
    else job.resolve(outputs!);
  }
}

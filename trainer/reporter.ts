/**
 * Streams one attempt's logs, metric points and progress to the hub in batches (every ~250 ms),
 * so a chatty script costs a few requests a second, not one per line. A failed send keeps the
 * batch for the next tick (bounded: the oldest lines are dropped and counted); a 409 lease_lost
 * calls `onLeaseLost` so the attempt stops.
 */

import { AttemptLostError, type TrainerHubApi } from "../hub-api/trainer-api.js";
import type { MetricPoint, Progress, WorkerLogLine } from "../hub-api/training.js";
import type { Logger } from "../lib/log.js";

export const REPORT_INTERVAL_MS = 250;
/** Longest log line kept; longer ones are cut (a binary blob on stdout must not become a 50 MB request). */
export const MAX_LINE_CHARS = 8 * 1024;
/** Lines held while the hub is unreachable before the oldest are dropped. */
const MAX_PENDING_LINES = 10_000;
const MAX_LINES_PER_REQUEST = 1_000;
const MAX_PENDING_POINTS = 10_000;

export class AttemptReporter {
  #lines: WorkerLogLine[] = [];
  #points: MetricPoint[] = [];
  #progress: Progress | undefined;
  #droppedLines = 0;
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #closed = false;

  constructor(
    private readonly api: TrainerHubApi,
    private readonly runId: string,
    private readonly attempt: number,
    private readonly options: { log: Logger; onLeaseLost: () => void; intervalMs?: number },
  ) {
    this.#timer = setInterval(() => void this.flush(), options.intervalMs ?? REPORT_INTERVAL_MS);
    this.#timer.unref();
  }

  log(stream: WorkerLogLine["stream"], text: string): void {
    if (this.#closed) return;
    const cut =
      text.length > MAX_LINE_CHARS
        ? `${text.slice(0, MAX_LINE_CHARS)}… [cut at ${MAX_LINE_CHARS} chars]`
        : text;
    this.#lines.push({ stream, text: cut, at: new Date().toISOString() });
    if (this.#lines.length > MAX_PENDING_LINES) {
      const excess = this.#lines.length - MAX_PENDING_LINES;
      this.#lines.splice(0, excess);
      this.#droppedLines += excess;
    }
  }

  metric(name: string, value: number, step: number): void {
    if (this.#closed || !Number.isFinite(value)) return;
    this.#points.push({ name, value, step, at: new Date().toISOString() });
    if (this.#points.length > MAX_PENDING_POINTS)
      this.#points.splice(0, this.#points.length - MAX_PENDING_POINTS);
  }

  progress(progress: Progress): void {
    if (!this.#closed) this.#progress = progress;
  }

  /** Sends what is pending; concurrent calls share one send. */
  flush(): Promise<void> {
    if (this.#sending) return this.#sending;
    this.#sending = this.#send().finally(() => {
      this.#sending = undefined;
    });
    return this.#sending;
  }

  /** Stops the timer and sends the rest (twice: a flush may have been in flight). */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
    await this.flush();
    this.#closed = true;
  }

  async #send(): Promise<void> {
    try {
      if (this.#droppedLines > 0) {
        this.#lines.unshift({
          stream: "system",
          text: `[${this.#droppedLines} log lines dropped while the hub was unreachable]`,
        });
        this.#droppedLines = 0;
      }
      while (this.#lines.length > 0) {
        const batch = this.#lines.slice(0, MAX_LINES_PER_REQUEST);
        await this.api.logs(this.runId, this.attempt, batch);
        this.#lines.splice(0, batch.length);
      }
      if (this.#points.length > 0 || this.#progress) {
        const points = this.#points.slice();
        const progress = this.#progress;
        await this.api.metrics(this.runId, this.attempt, {
          ...(points.length > 0 ? { points } : {}),
          ...(progress ? { progress } : {}),
        });
        // Points pushed while the request was in flight stay for the next tick.
        this.#points.splice(0, points.length);
        if (this.#progress === progress) this.#progress = undefined;
      }
    } catch (error) {
      if (error instanceof AttemptLostError) {
        this.#lines = [];
        this.#points = [];
        this.#progress = undefined;
        this.options.onLeaseLost();
        return;
      }
      this.options.log.warn({
        event: "trainer.report.failed",
        runId: this.runId,
        attempt: this.attempt,
        err: error,
      });
    }
  }
}

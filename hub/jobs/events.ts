/**
 * In-process run events for `GET /runs/{id}/events` (SSE): the job service fires one on every
 * status change, log batch, metric batch and progress report. Subscribers get them in order;
 * nothing is buffered for late subscribers (they read the run, its logs and metrics first).
 */
import { EventEmitter } from "node:events";

export type RunEventType = "status" | "log" | "metric" | "progress";

export interface RunEvent {
  type: RunEventType;
  data: Record<string, unknown>;
}

/** Per-run publish/subscribe. */
export class RunEvents {
  readonly #emitter = new EventEmitter();
  readonly #any = new Set<(runId: string, event: RunEvent) => void>();

  constructor() {
    // One listener per open SSE stream; many clients may follow one run.
    this.#emitter.setMaxListeners(0);
  }

  emit(runId: string, event: RunEvent): void {
    this.#emitter.emit(runId, event);
    for (const listener of [...this.#any]) listener(runId, event);
  }

  /** Calls `listener` for each event of every run until the returned function is called (the console's stream). */
  subscribeAll(listener: (runId: string, event: RunEvent) => void): () => void {
    this.#any.add(listener);
    return () => this.#any.delete(listener);
  }

  /** Calls `listener` for each event of the run until the returned function is called. */
  subscribe(runId: string, listener: (event: RunEvent) => void): () => void {
    this.#emitter.on(runId, listener);
    return () => this.#emitter.off(runId, listener);
  }
}

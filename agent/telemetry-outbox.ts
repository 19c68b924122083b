/**
 * Turns the recorder's windows into `telemetry` messages every interval and sends them, keeping
 * unsent windows in a bounded in-memory queue while the link is down (oldest dropped past the
 * bound, counted in `dropped`). A disk spool replaces the memory queue in a later issue.
 */
import type { Logger } from "../lib/log.js";
import { type ModuleWindow, PROTOCOL_VERSION, type TelemetryWindow } from "../wire/messages.js";

/** One hour of 10 s windows. */
export const DEFAULT_TELEMETRY_QUEUE_LIMIT = 360;

export interface TelemetryOutboxOptions {
  takeWindow: () => ModuleWindow[];
  /** Sequence numbers, unique across restarts (telemetry-seq.ts). */
  nextSeq: () => number;
  /** Sends one window; false when it could not be handed over (offline), so it stays queued. */
  send: (window: TelemetryWindow) => boolean;
  intervalMs: number;
  log: Logger;
  limit?: number;
  now?: () => Date;
}

/** Periodic telemetry with an offline queue. */
export class TelemetryOutbox {
  readonly #queue: TelemetryWindow[] = [];
  readonly #options: TelemetryOutboxOptions;
  readonly #now: () => Date;
  #timer: NodeJS.Timeout | undefined;
  #windowStart: Date;
  #dropped = 0;

  constructor(options: TelemetryOutboxOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
    this.#windowStart = this.#now();
  }

  /** Windows dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Windows waiting to be sent. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Starts the interval timer. */
  start(): void {
    this.#timer ??= setInterval(() => this.tick(), this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer; queued windows are lost with the process (no disk spool yet). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Closes the current window (skipped when empty) and tries to send everything queued. */
  tick(): void {
    const windowEnd = this.#now();
    const modules = this.#options.takeWindow();
    const windowStart = this.#windowStart;
    this.#windowStart = windowEnd;
    if (modules.length > 0) {
      this.#queue.push({
        protocol: PROTOCOL_VERSION,
        seq: this.#options.nextSeq(),
        windowStart: windowStart.toISOString(),
        windowEnd: windowEnd.toISOString(),
        modules,
      });
      const limit = this.#options.limit ?? DEFAULT_TELEMETRY_QUEUE_LIMIT;
      while (this.#queue.length > limit) {
        this.#queue.shift();
        this.#dropped++;
        this.#options.log.warn({ event: "telemetry.dropped", dropped: this.#dropped, limit });
      }
    }
    this.flush();
  }

  /** Sends queued windows in order until one cannot be sent. */
  flush(): void {
    while (this.#queue.length > 0) {
      const next = this.#queue[0]!;
      if (!this.#options.send(next)) return;
      this.#queue.shift();
    }
  }
}

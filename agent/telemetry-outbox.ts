/**
 * Store-and-forward telemetry: every interval the recorder's window is closed, numbered and written
 * to the on-disk spool (telemetry-spool.ts) before anything is sent; then the spool is flushed in
 * seq order, and a window leaves the spool only after the broker acknowledged it (QoS 1 PUBACK).
 * While the broker or network is down, windows pile up on disk (bounded) and survive restarts; on
 * reconnect they are replayed oldest first. Drops past the bound are reported once the link is
 * back, as a `telemetry.dropped` event with the count.
 */
import type { Logger } from "../lib/log.js";
import { type ModuleWindow, PROTOCOL_VERSION, type TelemetryWindow } from "../wire/messages.js";
import type { TelemetrySpool } from "./telemetry-spool.js";

/** Windows published before waiting for their acknowledgements; TCP keeps them in order. */
const FLUSH_BATCH = 32;
/** A batch not acknowledged by then is retried on the next flush (the hub drops duplicates by seq). */
const DEFAULT_ACK_TIMEOUT_MS = 30_000;

export interface TelemetryOutboxOptions {
  takeWindow: () => ModuleWindow[];
  /** Sequence numbers, unique across restarts (telemetry-seq.ts). */
  nextSeq: () => number;
  /** This run's telemetry epoch, sent beside every seq [WIRE-5.5]. */
  epoch?: string;
  spool: TelemetrySpool;
  /** Publishes one window; resolves true once the broker acknowledged it, false when offline or refused. */
  send: (window: TelemetryWindow) => Promise<boolean>;
  /** Reports windows dropped past the spool bound; resolves true once the report was acknowledged. */
  reportDropped?: (dropped: number, total: number) => Promise<boolean>;
  intervalMs: number;
  log: Logger;
  ackTimeoutMs?: number;
  now?: () => Date;
}

/** Periodic telemetry through a disk spool. */
export class TelemetryOutbox {
  readonly #options: TelemetryOutboxOptions;
  readonly #now: () => Date;
  #timer: NodeJS.Timeout | undefined;
  #windowStart: Date;
  #flushing: Promise<void> | undefined;
  #flushAgain = false;
  #spooling: Promise<void> = Promise.resolve();

  constructor(options: TelemetryOutboxOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
    this.#windowStart = this.#now();
  }

  /** Windows dropped (past the spool bound, or refused by the disk) since the spool folder was created. */
  get dropped(): number {
    return this.#options.spool.dropped.total;
  }

  /** Windows waiting (on disk, or held in memory while the disk refuses writes). */
  get queued(): number {
    return this.#options.spool.size;
  }

  /** Starts the interval timer. */
  start(): void {
    this.#timer ??= setInterval(() => {
      this.tick().catch((error: unknown) =>
        this.#options.log.error({ event: "telemetry.tick_failed", err: error }),
      );
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and spools the window in progress, so a graceful stop loses no request. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#spoolWindow();
    // Held windows get one last write; those the disk still refuses are counted as dropped.
    await this.#options.spool.close();
  }

  /** Closes the current window (skipped when empty), spools it, then flushes the spool. */
  async tick(): Promise<void> {
    await this.#spoolWindow();
    await this.flush();
  }

  /** Sends spooled windows oldest first until the spool is empty or a send fails; one flush at a time. */
  flush(): Promise<void> {
    if (this.#flushing) {
      this.#flushAgain = true;
      return this.#flushing;
    }
    this.#flushing = (async () => {
      try {
        do {
          this.#flushAgain = false;
          await this.#flushOnce();
        } while (this.#flushAgain);
      } catch (error) {
        this.#options.log.error({ event: "telemetry.flush_failed", err: error });
      } finally {
        this.#flushing = undefined;
      }
    })();
    return this.#flushing;
  }

  async #spoolWindow(): Promise<void> {
    const windowEnd = this.#now();
    const modules = this.#options.takeWindow();
    const windowStart = this.#windowStart;
    this.#windowStart = windowEnd;
    if (modules.length === 0) return this.#spooling;
    const window: TelemetryWindow = {
      protocol: PROTOCOL_VERSION,
      seq: this.#options.nextSeq(),
      ...(this.#options.epoch ? { epoch: this.#options.epoch } : {}),
      windowStart: windowStart.toISOString(),
      windowEnd: windowEnd.toISOString(),
      modules,
    };
    // Chained, so windows reach the disk in the order they were closed even if a write is slow.
    // The spool holds what the disk refuses; the catch is the last guard that one failure can
    // never leave the chain rejected for every later window.
    this.#spooling = this.#spooling
      .then(() => this.#options.spool.append(window))
      .catch((error: unknown) => this.#options.log.error({ event: "telemetry.spool_failed", err: error }));
    return this.#spooling;
  }

  async #flushOnce(): Promise<void> {
    const { spool, send, log } = this.#options;
    await this.#spooling;
    for (;;) {
      const batch = await spool.oldest(FLUSH_BATCH);
      if (batch.length === 0) break;
      const acked = await this.#withTimeout(Promise.all(batch.map((window) => send(window))));
      let sent = 0;
      for (const [i, window] of batch.entries()) {
        if (acked?.[i] !== true) continue;
        await spool.remove(window.seq);
        sent++;
      }
      if (sent > 0) log.debug({ event: "telemetry.sent", windows: sent, waiting: spool.size });
      if (sent < batch.length) return;
    }
    const { unreported, total } = spool.dropped;
    if (unreported > 0 && this.#options.reportDropped) {
      if (await this.#withTimeout(this.#options.reportDropped(unreported, total))) {
        await spool.markDropsReported(unreported);
      }
    }
  }

  /** The value, or undefined when it takes longer than the ack timeout. */
  async #withTimeout<T>(promise: Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), this.#options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS);
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

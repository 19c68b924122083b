/**
 * Buffers telemetry windows and writes them in one multi-row INSERT per flush: at `maxRows` rows
 * or every `flushIntervalMs`, whichever comes first. Telemetry is best-effort by design (QoS 1,
 * windows are statistics), so a failed write is logged, retried once on the next flush,
 * then counted as dropped; nothing here throws into the MQTT handler that calls `add`. A failed
 * multi-row INSERT is split in halves and retried at once, down to single rows, so a row the
 * database refuses fails alone and the other devices' windows of its batch are stored.
 *
 * `store` is `add` for a caller that acknowledges the window to its device: it resolves once the
 * rows are committed (or were there already) and rejects when they were dropped, so a PUBACK is
 * only sent for a stored window. It starts a pass at once instead of waiting for the timer; rows
 * that arrive while a pass runs go together in the next one (group commit), so batching stays.
 */
import { type Logger, silentLogger } from "../../lib/log.js";
import type { TelemetryWindow } from "../../wire/messages.js";
import type { Db } from "../db/database.js";
import { telemetryWindows } from "../db/schema/index.js";
import { type DriftRows, driftRowsOf, writeDriftRows } from "./drift-rows.js";

type Row = typeof telemetryWindows.$inferInsert;

export interface TelemetryWriterOptions {
  /** Rows that trigger an immediate flush; also the most rows one INSERT carries. Default 200. */
  maxRows?: number;
  /** Longest time a row waits in the buffer (ms). Default 500. */
  flushIntervalMs?: number;
  log?: Logger;
  now?: () => Date;
}

export interface TelemetryWriterStats {
  /** Rows inserted. */
  written: number;
  /** Rows the database already had (QoS 1 redeliveries). */
  duplicates: number;
  /** Rows given up after a failed write and its retry. */
  dropped: number;
  /** Rows refused at `add` because the database could never store them. */
  rejected: number;
  /** Rows waiting in the buffer. */
  pending: number;
  /** INSERTs that failed. */
  failedFlushes: number;
}

interface Pending {
  row: Row;
  /** Write attempts so far. */
  attempts: number;
  /** Order of arrival, so `flush()` knows which rows it promised to drain. */
  ticket: number;
  /** The window's drift summary and sampled rows, stored in their own tables in the same pass. */
  drift: DriftRows;
  /** Told once this row is committed (no error) or given up (the error); `store` waits on it. */
  settle?: (error?: Error) => void;
}

const MAX_ATTEMPTS = 2;
const INT32_MAX = 2_147_483_647;

/** Batches telemetry windows into multi-row inserts; see the file comment for the failure policy. */
export class TelemetryWriter {
  readonly #db: Db;
  readonly #maxRows: number;
  readonly #intervalMs: number;
  readonly #log: Logger;
  readonly #now: () => Date;
  #buffer: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #chain: Promise<void> = Promise.resolve();
  #tickets = 0;
  #closed = false;
  /** A pass is queued behind the running one and has not taken the buffer yet. */
  #passQueued = false;
  readonly #stats = { written: 0, duplicates: 0, dropped: 0, rejected: 0, failedFlushes: 0 };

  constructor(db: Db, options: TelemetryWriterOptions = {}) {
    this.#db = db;
    this.#maxRows = Math.max(1, options.maxRows ?? 200);
    this.#intervalMs = Math.max(1, options.flushIntervalMs ?? 500);
    this.#log = options.log ?? silentLogger;
    this.#now = options.now ?? (() => new Date());
  }

  /** Queues one telemetry message (one row per module); returns the rows queued. Never throws. */
  add(deviceId: string, window: TelemetryWindow, receivedAt: Date = this.#now()): number {
    return this.#queue(deviceId, window, receivedAt, undefined);
  }

  /**
   * Queues one telemetry message and resolves once every row of it is committed or was a
   * duplicate; rejects when the writer is closed or the rows were dropped after their retry. A
   * window the database could never hold (see `unstorable`) is counted as rejected and resolves:
   * sending it again would not help.
   */
  store(deviceId: string, window: TelemetryWindow, receivedAt: Date = this.#now()): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("telemetry writer is closed"));
    return new Promise<void>((resolve, reject) => {
      let left = window.modules.length;
      let failed: Error | undefined;
      const settle = (error?: Error) => {
        failed ??= error;
        if (--left > 0) return;
        if (failed) reject(failed);
        else resolve();
      };
      if (this.#queue(deviceId, window, receivedAt, settle) === 0) return resolve();
      if (!this.#passQueued) void this.#enqueuePass();
    });
  }

  #queue(deviceId: string, window: TelemetryWindow, receivedAt: Date, settle: Pending["settle"]): number {
    if (this.#closed) {
      this.#stats.rejected += window.modules.length;
      this.#log.warn({ event: "telemetry.rejected", deviceId, reason: "writer closed" });
      return 0;
    }
    const problem = unstorable(window);
    if (problem) {
      this.#stats.rejected += window.modules.length;
      this.#log.warn({ event: "telemetry.rejected", deviceId, seq: window.seq, reason: problem });
      return 0;
    }
    for (const module of window.modules) {
      const { payload, drift } = driftRowsOf(deviceId, window, module, receivedAt);
      this.#buffer.push({
        ...(settle ? { settle } : {}),
        attempts: 0,
        ticket: ++this.#tickets,
        drift,
        row: {
          deviceId,
          seq: window.seq,
          epoch: window.epoch ?? "",
          module: module.name,
          moduleVersion: module.version,
          windowStart: new Date(window.windowStart),
          windowEnd: new Date(window.windowEnd),
          requests: module.requests,
          errors: module.errors,
          latencySumMs: module.latencySumMs,
          payload,
          receivedAt,
        },
      });
    }
    if (this.#buffer.length >= this.#maxRows && !this.#passQueued) void this.#enqueuePass();
    else this.#arm();
    return window.modules.length;
  }

  /** Writes every row queued before this call (retrying failures once now); resolves when done. */
  async flush(): Promise<void> {
    const target = this.#tickets;
    for (;;) {
      // Wait for a pass in flight first: it may hand failed rows back to the buffer.
      await this.#chain;
      if (!this.#buffer.some((p) => p.ticket <= target)) return;
      await this.#enqueuePass();
    }
  }

  /** Refuses further rows, drains the buffer and stops the timer. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Counters since construction. */
  stats(): TelemetryWriterStats {
    return { ...this.#stats, pending: this.#buffer.length };
  }

  #arm(): void {
    if (this.#timer || this.#buffer.length === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#enqueuePass();
    }, this.#intervalMs);
    // A pending flush must not keep a finished process alive; close() drains explicitly.
    this.#timer.unref();
  }

  /** One pass over the current buffer, serialised after any pass already running. */
  #enqueuePass(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#passQueued = true;
    this.#chain = this.#chain
      .then(() => this.#pass())
      .catch((error: unknown) => this.#log.error({ event: "telemetry.pass_failed", err: error }));
    return this.#chain;
  }

  /** Inserts the rows and their drift rows in one transaction; returns how many rows were new. */
  async #insert(batch: readonly Pending[]): Promise<number> {
    return this.#db.transaction(async (tx) => {
      const ids = await tx
        .insert(telemetryWindows)
        .values(batch.map((p) => p.row))
        .onConflictDoNothing({
          target: [
            telemetryWindows.deviceId,
            telemetryWindows.epoch,
            telemetryWindows.seq,
            telemetryWindows.module,
          ],
        })
        .returning({ id: telemetryWindows.id });
      await writeDriftRows(
        tx,
        batch.map((p) => p.drift),
      );
      return ids.length;
    });
  }

  async #pass(): Promise<void> {
    this.#passQueued = false;
    const taken = this.#buffer;
    this.#buffer = [];
    const retry: Pending[] = [];
    const batches: Pending[][] = [];
    for (let start = 0; start < taken.length; start += this.#maxRows)
      batches.push(taken.slice(start, start + this.#maxRows));
    for (let batch = batches.shift(); batch; batch = batches.shift()) {
      try {
        const inserted = await this.#insert(batch);
        this.#stats.written += inserted;
        this.#stats.duplicates += batch.length - inserted;
        for (const pending of batch) pending.settle?.();
      } catch (error) {
        this.#stats.failedFlushes++;
        this.#log.error({ event: "telemetry.flush_failed", rows: batch.length, err: error });
        if (batch.length > 1) {
          // One row the database refuses must not cost the others their write: each half is
          // tried apart (next, before any later batch), down to the single row that fails.
          const half = Math.ceil(batch.length / 2);
          batches.unshift(batch.slice(0, half), batch.slice(half));
          continue;
        }
        const pending = batch[0]!;
        pending.attempts++;
        if (pending.attempts < MAX_ATTEMPTS) retry.push(pending);
        else {
          this.#stats.dropped++;
          this.#log.error({ event: "telemetry.rows_dropped", rows: 1, deviceId: pending.row.deviceId });
          pending.settle?.(new Error("telemetry rows dropped after a failed write and its retry"));
        }
      }
    }
    // Retries go first so rows stay roughly in arrival order.
    this.#buffer = [...retry, ...this.#buffer];
    // A row someone waits on is retried at once rather than after the timer.
    if (retry.some((p) => p.settle) && !this.#passQueued) void this.#enqueuePass();
    else this.#arm();
  }
}

/** Why PostgreSQL could never store this window (so it must not poison a batch), or null. */
function unstorable(window: TelemetryWindow): string | null {
  if (!Number.isInteger(window.seq) || window.seq < 0 || window.seq > INT32_MAX) return "seq out of range";
  if (Number.isNaN(Date.parse(window.windowStart)) || Number.isNaN(Date.parse(window.windowEnd))) {
    return "invalid window time";
  }
  for (const module of window.modules) {
    if (module.requests > INT32_MAX || module.errors > INT32_MAX) return "counter out of range";
    // PostgreSQL text and jsonb cannot hold U+0000.
    if (JSON.stringify(module).includes("\\u0000")) return "NUL character in module window";
  }
  return null;
}

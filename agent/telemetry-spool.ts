/**
 * The bounded on-disk telemetry spool: one file per window, `${dir}/<seq, 10 digits>.json`, so the
 * name order is the send order (seq only grows, across restarts too: telemetry-seq.ts).
 *
 * Durability (the fsync policy): a window is written temp → fsync → rename → fsync folder before
 * `append` resolves, so a window the outbox has closed survives SIGKILL and power loss. Removing a
 * sent window is a plain unlink without a folder fsync: a crash can bring a sent window back, which
 * is then sent again and dropped by the hub as a duplicate (it keys windows by device and seq).
 * That is 3 fsyncs per window (one per 10 s by default), nothing on the scoring path.
 *
 * Bound: at most `limit` windows; appending past it deletes the oldest and counts them in
 * `${dir}/dropped.json` ({ total, unreported }), written atomically, so a restart while offline
 * still reports the loss.
 *
 * A disk that refuses a write (full, read-only, gone) never wedges the spool: the window is held in
 * memory, in order, and the writes are retried with back-off (1 s doubling to 60 s) until the disk
 * takes them again. Held windows are sent like any other (the link may be up while the disk is
 * full). At most `heldLimit` are held; past it the oldest are dropped and counted. A drop count the
 * disk refused is kept in memory and written with the next write that succeeds.
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { readJsonFile, writeFileAtomic } from "../lib/files.js";
import type { Logger } from "../lib/log.js";
import { parsePayload, type TelemetryWindow, TelemetryWindowSchema } from "../wire/messages.js";

/** One hour of 10 s windows. */
export const DEFAULT_TELEMETRY_SPOOL_LIMIT = 360;

const WINDOW_FILE = /^(\d{10})\.json$/;
const DROPPED_FILE = "dropped.json";
const DroppedSchema = z.object({
  total: z.number().int().nonnegative(),
  unreported: z.number().int().nonnegative(),
});
type Dropped = z.infer<typeof DroppedSchema>;

/** Windows held in memory at most while the disk refuses writes (10 minutes of 10 s windows). */
export const DEFAULT_TELEMETRY_HELD_LIMIT = 60;
/** Back-off between attempts to write held windows to a disk that refused them. */
export const DEFAULT_SPOOL_RETRY = { baseMs: 1000, maxMs: 60_000 };

export interface TelemetrySpoolOptions {
  dir: string;
  /** Windows kept at most; the oldest go first. */
  limit?: number;
  /** Windows held in memory at most while the disk refuses writes (capped at `limit`). */
  heldLimit?: number;
  retry?: { baseMs: number; maxMs: number };
  log: Logger;
}

/** Telemetry windows waiting for the broker, on disk, oldest first. */
export class TelemetrySpool {
  /** Seq numbers on disk, ascending. */
  readonly #seqs: number[];
  /** Windows the disk refused, ascending; every one is newer than those on disk. */
  readonly #held: TelemetryWindow[] = [];
  #dropped: Dropped;
  /** The drop count in memory is ahead of dropped.json (the disk refused the write). */
  #droppedUnsaved = false;
  #writes: Promise<void> = Promise.resolve();
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelayMs: number;
  readonly #heldLimit: number;
  readonly #retry: { baseMs: number; maxMs: number };

  private constructor(
    private readonly dir: string,
    private readonly limit: number,
    private readonly log: Logger,
    seqs: number[],
    dropped: Dropped,
    options: TelemetrySpoolOptions,
  ) {
    this.#seqs = seqs;
    this.#dropped = dropped;
    this.#heldLimit = Math.min(limit, options.heldLimit ?? DEFAULT_TELEMETRY_HELD_LIMIT);
    this.#retry = options.retry ?? DEFAULT_SPOOL_RETRY;
    this.#retryDelayMs = this.#retry.baseMs;
  }

  /** Opens (or creates) the spool folder; leftovers of an interrupted write are removed. */
  static async open(options: TelemetrySpoolOptions): Promise<TelemetrySpool> {
    const { dir, log } = options;
    const limit = options.limit ?? DEFAULT_TELEMETRY_SPOOL_LIMIT;
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`telemetry spool limit must be >= 1, got ${limit}`);
    await mkdir(dir, { recursive: true });
    const seqs: number[] = [];
    for (const name of await readdir(dir)) {
      const match = WINDOW_FILE.exec(name);
      if (match) seqs.push(Number(match[1]));
      else if (name.endsWith(".tmp")) await rm(join(dir, name), { force: true });
    }
    seqs.sort((a, b) => a - b);
    let dropped: Dropped = { total: 0, unreported: 0 };
    try {
      const parsed = DroppedSchema.safeParse(await readJsonFile(join(dir, DROPPED_FILE)));
      if (parsed.success) dropped = parsed.data;
    } catch (error) {
      log.warn({ event: "telemetry.spool_dropped_unreadable", err: error });
    }
    const spool = new TelemetrySpool(dir, limit, log, seqs, dropped, options);
    // A smaller limit than the last run's applies at once.
    await spool.#enforceLimit();
    return spool;
  }

  /** Windows waiting, on disk and held in memory. */
  get size(): number {
    return this.#seqs.length + this.#held.length;
  }

  /** Windows held in memory because the disk refused them. */
  get held(): number {
    return this.#held.length;
  }

  /** Windows dropped since the spool folder was created, and those not yet reported to the hub. */
  get dropped(): Readonly<Dropped> {
    return { ...this.#dropped };
  }

  /**
   * Stores a window durably (see the fsync policy above); drops the oldest past the limit. Never
   * rejects for a disk fault: a window the disk refuses is held in memory and retried.
   */
  append(window: TelemetryWindow): Promise<void> {
    return this.#serial(async () => {
      // Behind windows already held, so the disk keeps seq order.
      if (this.#held.length > 0 || !(await this.#write(window))) this.#hold(window);
      await this.#enforceLimit();
    });
  }

  /** Stops the retry timer; held windows that still cannot be written are counted as dropped. */
  close(): Promise<void> {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    return this.#serial(async () => {
      await this.#writeHeld();
      if (this.#held.length === 0) return;
      const lost = this.#held.splice(0).length;
      await this.#countDropped(lost);
      this.log.error({ event: "telemetry.held_dropped", dropped: lost, total: this.#dropped.total });
    });
  }

  /** Up to `count` oldest windows; unreadable files are deleted and counted as dropped. */
  async oldest(count: number): Promise<TelemetryWindow[]> {
    await this.#writes;
    const windows: TelemetryWindow[] = [];
    for (const seq of this.#seqs.slice(0, count)) {
      const raw = await readJsonFile<unknown>(this.#path(seq)).catch((error: Error) => error);
      const parsed =
        raw instanceof Error
          ? { ok: false as const, error: raw.message }
          : parsePayload(TelemetryWindowSchema, JSON.stringify(raw ?? null));
      if (parsed.ok) {
        windows.push(parsed.value);
        continue;
      }
      this.log.error({ event: "telemetry.spool_unreadable", seq, error: parsed.error });
      await this.remove(seq);
      await this.#serial(() => this.#countDropped(1));
    }
    // Held windows are newer than every window on disk.
    for (const window of this.#held.slice(0, Math.max(0, count - windows.length))) windows.push(window);
    return windows;
  }

  /** Forgets a window (sent and acknowledged). */
  remove(seq: number): Promise<void> {
    return this.#serial(async () => {
      const heldIndex = this.#held.findIndex((window) => window.seq === seq);
      if (heldIndex !== -1) {
        this.#held.splice(heldIndex, 1);
        return;
      }
      const index = this.#seqs.indexOf(seq);
      if (index === -1) return;
      this.#seqs.splice(index, 1);
      await this.#unlink(seq);
    });
  }

  /** Marks `count` drops as reported (after the event reached the broker). */
  markDropsReported(count: number): Promise<void> {
    return this.#serial(async () => {
      const unreported = Math.max(0, this.#dropped.unreported - count);
      await this.#saveDropped({ ...this.#dropped, unreported });
    });
  }

  /** Writes one window to disk; false (logged) when the disk refuses it. */
  async #write(window: TelemetryWindow): Promise<boolean> {
    try {
      await writeFileAtomic(this.#path(window.seq), JSON.stringify(window));
    } catch (error) {
      this.log.warn({ event: "telemetry.spool_write_failed", seq: window.seq, err: error });
      return false;
    }
    this.#seqs.push(window.seq);
    // Seq only grows, but keep the order right even if a caller hands one out of order.
    if (this.#seqs.length > 1 && this.#seqs.at(-2)! > window.seq) this.#seqs.sort((a, b) => a - b);
    return true;
  }

  #hold(window: TelemetryWindow): void {
    this.#held.push(window);
    this.#scheduleRetry();
  }

  /** Writes held windows oldest first until the disk refuses one; then a pending drop count. */
  async #writeHeld(): Promise<boolean> {
    while (this.#held.length > 0) {
      if (!(await this.#write(this.#held[0]!))) return false;
      this.#held.shift();
    }
    return this.#droppedUnsaved ? this.#persistDropped() : true;
  }

  #scheduleRetry(): void {
    if (this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#serial(async () => {
        if (await this.#writeHeld()) {
          this.#retryDelayMs = this.#retry.baseMs;
          this.log.info({ event: "telemetry.spool_recovered", waiting: this.size });
          return;
        }
        this.#retryDelayMs = Math.min(this.#retryDelayMs * 2, this.#retry.maxMs);
        this.#scheduleRetry();
      });
    }, this.#retryDelayMs);
    this.#retryTimer.unref();
  }

  async #enforceLimit(): Promise<void> {
    let dropped = 0;
    while (this.#seqs.length + this.#held.length > this.limit && this.#seqs.length > 0) {
      await this.#unlink(this.#seqs.shift()!);
      dropped++;
    }
    while (this.#held.length > this.#heldLimit) {
      this.#held.shift();
      dropped++;
    }
    if (dropped > 0) {
      await this.#countDropped(dropped);
      this.log.warn({ event: "telemetry.dropped", dropped, total: this.#dropped.total, limit: this.limit });
    }
  }

  /** Deletes a window file; a disk that refuses leaves it behind (sent again later, a duplicate). */
  async #unlink(seq: number): Promise<void> {
    try {
      await rm(this.#path(seq), { force: true });
    } catch (error) {
      this.log.warn({ event: "telemetry.spool_remove_failed", seq, err: error });
    }
  }

  async #countDropped(count: number): Promise<void> {
    await this.#saveDropped({
      total: this.#dropped.total + count,
      unreported: this.#dropped.unreported + count,
    });
  }

  /** Counts in memory first: a drop the disk cannot record is still a drop, written later. */
  async #saveDropped(next: Dropped): Promise<void> {
    this.#dropped = next;
    this.#droppedUnsaved = true;
    if (!(await this.#persistDropped())) this.#scheduleRetry();
  }

  async #persistDropped(): Promise<boolean> {
    try {
      await writeFileAtomic(join(this.dir, DROPPED_FILE), JSON.stringify(this.#dropped));
    } catch (error) {
      this.log.warn({ event: "telemetry.spool_dropped_write_failed", err: error });
      return false;
    }
    this.#droppedUnsaved = false;
    return true;
  }

  #path(seq: number): string {
    return join(this.dir, `${String(seq).padStart(10, "0")}.json`);
  }

  #serial(action: () => Promise<void>): Promise<void> {
    const next = this.#writes.then(action);
    this.#writes = next.catch(() => {});
    return next;
  }
}

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

export interface TelemetrySpoolOptions {
  dir: string;
  /** Windows kept at most; the oldest go first. */
  limit?: number;
  log: Logger;
}

/** Telemetry windows waiting for the broker, on disk, oldest first. */
export class TelemetrySpool {
  /** Seq numbers on disk, ascending. */
  readonly #seqs: number[];
  #dropped: Dropped;
  #writes: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly limit: number,
    private readonly log: Logger,
    seqs: number[],
    dropped: Dropped,
  ) {
    this.#seqs = seqs;
    this.#dropped = dropped;
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
    const spool = new TelemetrySpool(dir, limit, log, seqs, dropped);
    // A smaller limit than the last run's applies at once.
    await spool.#enforceLimit();
    return spool;
  }

  /** Windows waiting. */
  get size(): number {
    return this.#seqs.length;
  }

  /** Windows dropped since the spool folder was created, and those not yet reported to the hub. */
  get dropped(): Readonly<Dropped> {
    return { ...this.#dropped };
  }

  /** Stores a window durably (see the fsync policy above); drops the oldest past the limit. */
  append(window: TelemetryWindow): Promise<void> {
    return this.#serial(async () => {
      await writeFileAtomic(this.#path(window.seq), JSON.stringify(window));
      this.#seqs.push(window.seq);
      // Seq only grows, but keep the order right even if a caller hands one out of order.
      if (this.#seqs.length > 1 && this.#seqs.at(-2)! > window.seq) this.#seqs.sort((a, b) => a - b);
      await this.#enforceLimit();
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
    return windows;
  }

  /** Forgets a window (sent and acknowledged). */
  remove(seq: number): Promise<void> {
    return this.#serial(async () => {
      const index = this.#seqs.indexOf(seq);
      if (index === -1) return;
      this.#seqs.splice(index, 1);
      await rm(this.#path(seq), { force: true });
    });
  }

  /** Marks `count` drops as reported (after the event reached the broker). */
  markDropsReported(count: number): Promise<void> {
    return this.#serial(async () => {
      const unreported = Math.max(0, this.#dropped.unreported - count);
      await this.#saveDropped({ ...this.#dropped, unreported });
    });
  }

  async #enforceLimit(): Promise<void> {
    let dropped = 0;
    while (this.#seqs.length > this.limit) {
      const seq = this.#seqs.shift()!;
      await rm(this.#path(seq), { force: true });
      dropped++;
    }
    if (dropped > 0) {
      await this.#countDropped(dropped);
      this.log.warn({ event: "telemetry.dropped", dropped, total: this.#dropped.total, limit: this.limit });
    }
  }

  async #countDropped(count: number): Promise<void> {
    await this.#saveDropped({
      total: this.#dropped.total + count,
      unreported: this.#dropped.unreported + count,
    });
  }

  async #saveDropped(next: Dropped): Promise<void> {
    await writeFileAtomic(join(this.dir, DROPPED_FILE), JSON.stringify(next));
    this.#dropped = next;
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

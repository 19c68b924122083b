/**
 * Telemetry sequence numbers that never repeat across restarts (the hub drops a window whose
 * (device, epoch, seq) it has seen, [WIRE-5.5]), without a disk write per window: the state file holds a ceiling,
 * a run hands out numbers below it and raises it one block ahead, long before reaching it.
 * A crash wastes at most the rest of a block. The hub stores seq as a 32-bit integer; at 10,000
 * per block that is 200,000 restarts, or 680 years of 10 s windows.
 */
import type { Logger } from "../lib/log.js";
import type { StateStore } from "./state-store.js";

/** Numbers reserved per state-file write. */
export const TELEMETRY_SEQ_BLOCK = 10_000;

/** Hands out increasing telemetry seq numbers, persisting a reservation one block at a time. */
export class TelemetrySeq {
  #next: number;
  #ceiling: number;
  #raising: Promise<void> | undefined;

  private constructor(
    private readonly store: StateStore,
    private readonly log: Logger,
    private readonly block: number,
    start: number,
  ) {
    this.#next = start;
    this.#ceiling = start + block;
  }

  /** Reserves the first block past everything a previous run may have used. */
  static async open(store: StateStore, log: Logger, block = TELEMETRY_SEQ_BLOCK): Promise<TelemetrySeq> {
    const start = store.snapshot.telemetrySeqCeiling;
    await store.setTelemetrySeqCeiling(start + block);
    return new TelemetrySeq(store, log, block, start);
  }

  /** The next number; raises the persisted ceiling when half the block is used. */
  next(): number {
    if (this.#ceiling - this.#next <= this.block / 2 && this.#raising === undefined) {
      const ceiling = this.#ceiling + this.block;
      this.#raising = this.store
        .setTelemetrySeqCeiling(ceiling)
        .then(() => {
          this.#ceiling = ceiling;
        })
        .catch((error: unknown) => this.log.warn({ event: "telemetry.seq_persist_failed", err: error }))
        .finally(() => {
          this.#raising = undefined;
        });
    }
    return this.#next++;
  }

  /** Resolves when no ceiling raise is being written (tests, shutdown). */
  async settled(): Promise<void> {
    await this.#raising;
  }
}

/**
 * Runs `pruneOlderThan` soon after the hub starts and then every `intervalMs` (an hour by default),
 * with the cutoff `retentionDays` before the clock's now, and deletes expired idempotency keys (they
 * go whatever the retention setting: a key is kept for its expiry, never for history). A failed
 * sweep is logged and tried again at the next interval. Replicas sharing a database may sweep at once: deleting a row twice is harmless.
 */

import type { Clock, TimerHandle } from "../../lib/clock.js";
import type { Logger } from "../../lib/log.js";
import type { Db } from "../db/database.js";
import { pruneExpiredIdempotencyKeys, pruneOlderThan } from "./prune.js";

export const RETENTION_DEFAULTS = {
  /** How often the tables are swept (ms). */
  intervalMs: 60 * 60_000,
  /** Delay of the first sweep after start (ms): start-up is busy enough. */
  firstDelayMs: 60_000,
} as const;

export interface RetentionOptions {
  db: Db;
  /** Days of history kept; 0 keeps all history (expired idempotency keys still go). */
  retentionDays: number;
  clock: Clock;
  log: Logger;
  intervalMs?: number;
  firstDelayMs?: number;
}

export interface RetentionSweeper {
  /** Sweeps now (after a sweep in progress); resolves when done. */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

export function startRetentionSweeper(options: RetentionOptions): RetentionSweeper {
  const { db, clock, log, retentionDays } = options;
  const intervalMs = options.intervalMs ?? RETENTION_DEFAULTS.intervalMs;
  let timer: TimerHandle | undefined;
  let closed = false;
  let running: Promise<void> = Promise.resolve();

  const sweepKeys = async () => {
    const now = clock.now();
    try {
      const deleted = await pruneExpiredIdempotencyKeys(db, now);
      if (deleted > 0) log.info({ event: "idempotency.swept", deleted });
    } catch (error) {
      log.error({ event: "idempotency.sweep_failed", err: error });
    }
  };
  const sweepHistory = async () => {
    if (retentionDays <= 0) return;
    const cutoff = new Date(clock.now().getTime() - retentionDays * 86_400_000);
    const started = performance.now();
    try {
      const deleted = await pruneOlderThan(db, cutoff);
      log.info({
        event: "retention.swept",
        cutoff: cutoff.toISOString(),
        deleted,
        ms: Math.round(performance.now() - started),
      });
    } catch (error) {
      log.error({ event: "retention.sweep_failed", cutoff: cutoff.toISOString(), err: error });
    }
  };
  const sweepOnce = async () => {
    if (closed) return;
    await sweepHistory();
    await sweepKeys();
  };
  const sweep = () => {
    running = running.then(sweepOnce);
    return running;
  };
  const arm = (delayMs: number) => {
    if (closed) return;
    timer = clock.setTimer(delayMs, () => {
      void sweep().finally(() => arm(intervalMs));
    });
  };
  arm(options.firstDelayMs ?? RETENTION_DEFAULTS.firstDelayMs);

  return {
    sweep,
    async close() {
      closed = true;
      timer?.cancel();
      await running;
    },
  };
}

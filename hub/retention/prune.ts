/**
 * Deletes what the hub's history tables hold beyond the retention period: telemetry windows, drift
 * summaries and sampled rows by when the hub received them (device clocks may be wrong), monitor
 * evaluations by the hub's time of evaluation. Device events are kept: they carry only the device's
 * clock, which may be years off, and are small. So are alerts, retraining history, runs, models,
 * modules and deployments, which are the audit trail.
 *
 * Deletes go in batches (`DELETE … WHERE id IN (SELECT id … LIMIT n)`) so no statement holds its
 * locks long or builds one huge transaction while devices keep writing. The oldest rows have the
 * lowest ids and sit first in the heap, so each batch's scan finds them quickly.
 */
import { inArray, lt } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import type { Db } from "../db/database.js";
import {
  driftSamples,
  driftSummaries,
  idempotencyKeys,
  monitorEvaluations,
  telemetryWindows,
} from "../db/schema/index.js";

/** Each pruned table with its id and the time its rows age by. */
export const PRUNED_TABLES = {
  telemetry_windows: { table: telemetryWindows, id: telemetryWindows.id, at: telemetryWindows.receivedAt },
  drift_summaries: { table: driftSummaries, id: driftSummaries.id, at: driftSummaries.receivedAt },
  drift_samples: { table: driftSamples, id: driftSamples.id, at: driftSamples.receivedAt },
  monitor_evaluations: { table: monitorEvaluations, id: monitorEvaluations.id, at: monitorEvaluations.at },
} satisfies Record<string, { table: PgTable; id: PgColumn; at: PgColumn }>;

export type PrunedTable = keyof typeof PRUNED_TABLES;

/** Rows per DELETE statement. */
export const PRUNE_BATCH = 5_000;

/** Deletes every row older than `cutoff` from each pruned table; the count deleted per table. */
export async function pruneOlderThan(
  db: Db,
  cutoff: Date,
  batch = PRUNE_BATCH,
): Promise<Record<PrunedTable, number>> {
  const deleted = {} as Record<PrunedTable, number>;
  for (const [name, { table, id, at }] of Object.entries(PRUNED_TABLES) as [
    PrunedTable,
    (typeof PRUNED_TABLES)[PrunedTable],
  ][]) {
    deleted[name] = 0;
    for (;;) {
      const old = db.select({ id }).from(table).where(lt(at, cutoff)).limit(batch);
      const rows = await db.delete(table).where(inArray(id, old)).returning({ id });
      deleted[name] += rows.length;
      if (rows.length < batch) break;
    }
  }
  return deleted;
}

/** Deletes the idempotency keys expired at `now` (few: one per creating POST that carried a key). */
export async function pruneExpiredIdempotencyKeys(db: Db, now: Date): Promise<number> {
  const rows = await db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.expiresAt, now))
    .returning({ key: idempotencyKeys.key });
  return rows.length;
}

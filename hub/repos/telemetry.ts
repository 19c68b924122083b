/** Telemetry queries for dashboards and the drift monitor; writes go through TelemetryWriter. */
import { and, count, desc, eq, gte, type SQL } from "drizzle-orm";
import type { Db } from "../db/database.js";
import { telemetryWindows } from "../db/schema/index.js";
import { clampLimit } from "./paging.js";

export type StoredTelemetryWindow = typeof telemetryWindows.$inferSelect;

export interface TelemetryFilter {
  deviceId?: string;
  module?: string;
  /** Windows that ended at or after this time. */
  since?: Date;
}

export interface TelemetryRepo {
  /** Windows matching the filter, latest window_end first; limit defaults to 100 (max 1000). */
  list(filter?: TelemetryFilter & { limit?: number }): Promise<StoredTelemetryWindow[]>;
  /** Number of windows matching the filter. */
  count(filter?: TelemetryFilter): Promise<number>;
}

function where(filter: TelemetryFilter): SQL | undefined {
  const conditions: SQL[] = [];
  if (filter.deviceId !== undefined) conditions.push(eq(telemetryWindows.deviceId, filter.deviceId));
  if (filter.module !== undefined) conditions.push(eq(telemetryWindows.module, filter.module));
  if (filter.since !== undefined) conditions.push(gte(telemetryWindows.windowEnd, filter.since));
  return and(...conditions);
}

/** Telemetry query repository over a database. */
export function telemetryRepo(db: Db): TelemetryRepo {
  return {
    async list(filter = {}) {
      return db
        .select()
        .from(telemetryWindows)
        .where(where(filter))
        .orderBy(desc(telemetryWindows.windowEnd), desc(telemetryWindows.id))
        .limit(clampLimit(filter.limit));
    },

    async count(filter = {}) {
      const [row] = await db.select({ n: count() }).from(telemetryWindows).where(where(filter));
      return row?.n ?? 0;
    },
  };
}

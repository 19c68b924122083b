/** Telemetry reads for rollout health gates: one module's windows on given devices since a time. */
import { and, eq, gte, inArray, ne, type SQL } from "drizzle-orm";
import type { ModuleWindow } from "../../wire/messages.js";
import type { Db } from "../db/database.js";
import { telemetryWindows } from "../db/schema/index.js";

/** Most windows one gate read returns (newest first); bounds memory on a large fleet. */
const MAX_WINDOWS = 50_000;

export interface RolloutTelemetryQuery {
  module: string;
  deviceIds: readonly string[];
  since: Date;
  /** Only this version. */
  version?: string;
  /** Every version but this one (the baseline). */
  notVersion?: string;
}

/** Stored window payloads matching the query. */
export async function rolloutWindows(db: Db, query: RolloutTelemetryQuery): Promise<ModuleWindow[]> {
  if (query.deviceIds.length === 0) return [];
  const conditions: SQL[] = [
    eq(telemetryWindows.module, query.module),
    inArray(telemetryWindows.deviceId, [...query.deviceIds]),
    gte(telemetryWindows.windowEnd, query.since),
  ];
  if (query.version !== undefined) conditions.push(eq(telemetryWindows.moduleVersion, query.version));
  if (query.notVersion !== undefined) conditions.push(ne(telemetryWindows.moduleVersion, query.notVersion));
  const rows = await db
    .select({ payload: telemetryWindows.payload })
    .from(telemetryWindows)
    .where(and(...conditions))
    .limit(MAX_WINDOWS);
  return rows.map((row) => row.payload);
}

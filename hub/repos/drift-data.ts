/** Reads of stored drift summaries (per cohort, last N windows per device) and sampled rows. */
import { and, asc, count, desc, eq, gte, inArray, isNotNull, sql } from "drizzle-orm";
import type { Db } from "../db/database.js";
import { driftSamples, driftSummaries } from "../db/schema/index.js";
import { clampLimit } from "./paging.js";

export type StoredDriftSummary = typeof driftSummaries.$inferSelect;
export type StoredDriftSample = typeof driftSamples.$inferSelect;

export interface CohortQuery {
  module: string;
  moduleVersion: string;
  deviceIds: string[];
  /** Newest windows kept per device. */
  perDevice: number;
  /** Windows that ended at or after this time (stale devices drop out). */
  since?: Date;
}

export interface DriftDataRepo {
  /** Each device's `perDevice` newest summaries of the module version, newest first per device. */
  cohortSummaries(query: CohortQuery): Promise<StoredDriftSummary[]>;
  /** Summaries of one device (newest first), for inspection and tests. */
  summaries(filter: { deviceId?: string; module?: string; limit?: number }): Promise<StoredDriftSummary[]>;
  /** Sampled rows of a module (any version unless given), newest first; `labelled` keeps rows with a label and inputs. */
  samples(filter: {
    module: string;
    moduleVersion?: string;
    deviceIds?: string[];
    labelled?: boolean;
    since?: Date;
    limit?: number;
  }): Promise<StoredDriftSample[]>;
  /** Labelled rows with inputs since a time (what a retraining cycle waits for). */
  countLabelled(filter: { module: string; deviceIds: string[]; since: Date }): Promise<number>;
}

/** Drift data repository over a database. */
export function driftDataRepo(db: Db): DriftDataRepo {
  const withInputs = sql`${driftSamples.inputs} <> '{}'::jsonb`;
  return {
    async cohortSummaries(query) {
      if (query.deviceIds.length === 0) return [];
      const ranked = db
        .select({
          id: driftSummaries.id,
          rank: sql<number>`row_number() over (partition by ${driftSummaries.deviceId} order by ${driftSummaries.windowEnd} desc, ${driftSummaries.seq} desc)`.as(
            "rank",
          ),
        })
        .from(driftSummaries)
        .where(
          and(
            eq(driftSummaries.module, query.module),
            eq(driftSummaries.moduleVersion, query.moduleVersion),
            inArray(driftSummaries.deviceId, query.deviceIds),
            query.since ? gte(driftSummaries.windowEnd, query.since) : undefined,
          ),
        )
        .as("ranked");
      const rows = await db
        .select({ summary: driftSummaries, rank: ranked.rank })
        .from(driftSummaries)
        .innerJoin(ranked, eq(ranked.id, driftSummaries.id))
        .where(sql`${ranked.rank} <= ${query.perDevice}`)
        .orderBy(asc(driftSummaries.deviceId), desc(driftSummaries.windowEnd), desc(driftSummaries.seq));
      return rows.map((r) => r.summary);
    },

    summaries: (filter) =>
      db
        .select()
        .from(driftSummaries)
        .where(
          and(
            filter.deviceId ? eq(driftSummaries.deviceId, filter.deviceId) : undefined,
            filter.module ? eq(driftSummaries.module, filter.module) : undefined,
          ),
        )
        .orderBy(desc(driftSummaries.windowEnd), desc(driftSummaries.id))
        .limit(clampLimit(filter.limit)),

    samples: (filter) =>
      db
        .select()
        .from(driftSamples)
        .where(
          and(
            eq(driftSamples.module, filter.module),
            filter.moduleVersion ? eq(driftSamples.moduleVersion, filter.moduleVersion) : undefined,
            filter.deviceIds ? inArray(driftSamples.deviceId, filter.deviceIds) : undefined,
            filter.labelled ? and(isNotNull(driftSamples.label), withInputs) : undefined,
            filter.since ? gte(driftSamples.receivedAt, filter.since) : undefined,
          ),
        )
        .orderBy(desc(driftSamples.at), desc(driftSamples.id))
        .limit(Math.min(100_000, Math.max(1, Math.floor(filter.limit ?? 5_000)))),

    async countLabelled(filter) {
      if (filter.deviceIds.length === 0) return 0;
      const [row] = await db
        .select({ n: count() })
        .from(driftSamples)
        .where(
          and(
            eq(driftSamples.module, filter.module),
            inArray(driftSamples.deviceId, filter.deviceIds),
            isNotNull(driftSamples.label),
            withInputs,
            gte(driftSamples.receivedAt, filter.since),
          ),
        );
      return row?.n ?? 0;
    },
  };
}

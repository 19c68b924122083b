/**
 * Change marks: one short fingerprint per console topic, read in one round trip from indexes and
 * small tables. The console's live stream compares successive marks to learn that deployments,
 * monitors or the registry changed, whichever hub replica (or timer) changed them: state written by
 * the rollout controller's bake timers, the monitor scheduler and the retraining driver has no
 * request behind it that could announce it, and on PostgreSQL another replica may have written it.
 */
import { sql } from "drizzle-orm";
import type { Db } from "../db/database.js";

/** Topics whose changes are found by comparing marks (devices and runs are announced in process). */
export const MARKED_TOPICS = ["deployments", "monitors", "registry", "audit"] as const;
export type MarkedTopic = (typeof MARKED_TOPICS)[number];

export type ChangeMarks = Record<MarkedTopic, string>;

export interface ChangeMarkRepo {
  /** The current marks; equal marks mean nothing the console shows of that topic changed. */
  read(): Promise<ChangeMarks>;
}

/** Change marks over a database. */
export function changeMarkRepo(db: Db): ChangeMarkRepo {
  return {
    async read() {
      // Every part is an aggregate over a primary key, an index or a table of at most a few
      // thousand rows (deployments, monitors, models), so the statement stays cheap on any fleet.
      const [row] = await db
        .select({
          deployments: sql<string>`(select count(*) || ':' || coalesce(sum(generation), 0) || ':' || coalesce(max(updated_at)::text, '') from deployments)`,
          monitors: sql<string>`concat_ws(':',
            (select count(*) || '/' || coalesce(max(updated_at)::text, '') from monitors),
            (select coalesce(max(id), 0) from monitor_evaluations),
            (select count(*) from alerts),
            (select coalesce(max(id), 0) from retraining_events),
            (select coalesce(max(updated_at)::text, '') from retraining_cycles))`,
          registry: sql<string>`concat_ws(':',
            (select count(*) from models),
            (select coalesce(max(id), 0) from model_versions),
            (select coalesce(max(updated_at)::text, '') || '/' || count(*) from model_aliases),
            (select coalesce(max(id), 0) from modules))`,
          audit: sql<string>`(select coalesce(max(id), 0)::text from audit_log)`,
        })
        .from(sql`(select 1) as one`);
      return {
        deployments: String(row?.deployments ?? ""),
        monitors: String(row?.monitors ?? ""),
        registry: String(row?.registry ?? ""),
        audit: String(row?.audit ?? ""),
      };
    },
  };
}

/**
 * The fleet as an operator browses it: one page of devices at a time (keyset paging on the id, so
 * page 1,000 of 100,000 devices costs what page 1 costs) with filters the database answers from
 * its indexes, and a summary built from GROUP BYs (a few rows back, whatever the fleet's size).
 * It never returns an unbounded list.
 */
import { and, asc, count, eq, gt, type SQL, sql } from "drizzle-orm";
import type { Capabilities } from "../../wire/messages.js";
import type { Db } from "../db/database.js";
import { devices } from "../db/schema/index.js";
import { clampLimit } from "./paging.js";

/** What a fleet page may be narrowed by; every field is optional and they combine with AND. */
export interface FleetFilter {
  /** Case-insensitive substring of the id or the name. */
  text?: string;
  /** Every tag must match exactly (the deployments' selector). */
  tags?: Record<string, string>;
  online?: boolean;
  /** The declared firmware profile; null means "no profile declared". */
  profile?: string | null;
  /** Devices that report this module (at `moduleVersion` when given). */
  module?: string;
  moduleVersion?: string;
}

/** One row of the devices table: what the table shows, never the desired state or the secret. */
export interface FleetRow {
  id: string;
  name: string;
  tags: Record<string, string>;
  profile: string | null;
  online: boolean;
  lastSeenAt: Date | null;
  agentVersion: string | null;
  capabilities: Capabilities | null;
  agentProfile: string | null;
  modules: { name: string; version: string; state: string; servingVersion?: string | null }[];
}

export interface FleetPage {
  devices: FleetRow[];
  /** Devices matching the filter, all pages together. */
  total: number;
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null;
}

/** A group of devices sharing a declared profile and what their agents detected. */
export interface ProfileGroup {
  profile: string;
  agentProfile: string | null;
  capabilities: Capabilities | null;
  devices: number;
}

export interface FleetCounts {
  total: number;
  online: number;
  byProfile: { profile: string | null; devices: number; online: number }[];
  byModule: { module: string; version: string; state: string; devices: number }[];
  byAgentVersion: { agentVersion: string | null; devices: number }[];
  /** For the profile check, which the caller runs per group (few groups, however many devices). */
  profileGroups: ProfileGroup[];
}

export interface FleetViewRepo {
  /** One page of devices matching the filter, ordered by id, starting after `after`. */
  page(filter: FleetFilter, paging: { limit?: number; after?: string }): Promise<FleetPage>;
  /** Counts over the whole fleet. */
  counts(): Promise<FleetCounts>;
}

/** Escapes LIKE's wildcards so a search for "a_b" finds "a_b", not "axb". */
function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The fleet view over a database. */
export function fleetViewRepo(db: Db): FleetViewRepo {
  function where(filter: FleetFilter): SQL | undefined {
    const conditions: SQL[] = [];
    if (filter.text) {
      const pattern = `%${likeLiteral(filter.text)}%`;
      conditions.push(sql`(${devices.id} ilike ${pattern} or ${devices.name} ilike ${pattern})`);
    }
    if (filter.tags && Object.keys(filter.tags).length > 0)
      conditions.push(sql`${devices.tags} @> ${JSON.stringify(filter.tags)}::jsonb`);
    if (filter.online !== undefined) conditions.push(eq(devices.online, filter.online));
    if (filter.profile === null) conditions.push(sql`${devices.profile} is null`);
    else if (filter.profile !== undefined) conditions.push(eq(devices.profile, filter.profile));
    if (filter.module) {
      const entry = filter.moduleVersion
        ? { name: filter.module, version: filter.moduleVersion }
        : { name: filter.module };
      conditions.push(sql`${devices.reported}->'modules' @> ${JSON.stringify([entry])}::jsonb`);
    }
    return and(...conditions);
  }

  return {
    async page(filter, paging) {
      const limit = clampLimit(paging.limit, 50);
      const base = where(filter);
      const pageWhere = paging.after ? and(base, gt(devices.id, paging.after)) : base;
      const [rows, totals] = await Promise.all([
        db
          .select({
            id: devices.id,
            name: devices.name,
            tags: devices.tags,
            profile: devices.profile,
            online: devices.online,
            lastSeenAt: devices.lastSeenAt,
            agentVersion: devices.agentVersion,
            capabilities: devices.capabilities,
            agentProfile: sql<string | null>`${devices.status}->>'profile'`,
            modules: sql<FleetRow["modules"] | null>`${devices.reported}->'modules'`,
          })
          .from(devices)
          .where(pageWhere)
          .orderBy(asc(devices.id))
          // One more than asked tells whether a next page exists without a second query.
          .limit(limit + 1),
        db.select({ n: count() }).from(devices).where(base),
      ]);
      const more = rows.length > limit;
      const shown = more ? rows.slice(0, limit) : rows;
      return {
        devices: shown.map((row) => ({ ...row, modules: row.modules ?? [] })),
        total: Number(totals[0]?.n ?? 0),
        next: more ? shown[shown.length - 1]!.id : null,
      };
    },

    async counts() {
      const [totals, byProfile, byModule, byAgentVersion, profileGroups] = await Promise.all([
        db
          .select({ total: count(), online: sql<number>`count(*) filter (where ${devices.online})` })
          .from(devices),
        db
          .select({
            profile: devices.profile,
            devices: count(),
            online: sql<number>`count(*) filter (where ${devices.online})`,
          })
          .from(devices)
          .groupBy(devices.profile)
          .orderBy(asc(devices.profile)),
        db
          .select({
            module: sql<string>`m->>'name'`,
            version: sql<string>`m->>'version'`,
            state: sql<string>`m->>'state'`,
            devices: count(),
          })
          .from(
            sql`${devices} cross join lateral jsonb_array_elements(coalesce(${devices.reported}->'modules', '[]'::jsonb)) as m`,
          )
          .groupBy(sql`1`, sql`2`, sql`3`)
          .orderBy(sql`1`, sql`2`, sql`3`),
        db
          .select({ agentVersion: devices.agentVersion, devices: count() })
          .from(devices)
          .groupBy(devices.agentVersion)
          .orderBy(asc(devices.agentVersion)),
        db
          .select({
            profile: sql<string>`${devices.profile}`,
            agentProfile: sql<string | null>`${devices.status}->>'profile'`,
            capabilities: devices.capabilities,
            devices: count(),
          })
          .from(devices)
          .where(sql`${devices.profile} is not null`)
          .groupBy(devices.profile, sql`${devices.status}->>'profile'`, devices.capabilities),
      ]);
      return {
        total: Number(totals[0]?.total ?? 0),
        online: Number(totals[0]?.online ?? 0),
        byProfile: byProfile.map((r) => ({ ...r, devices: Number(r.devices), online: Number(r.online) })),
        byModule: byModule.map((r) => ({ ...r, devices: Number(r.devices) })),
        byAgentVersion: byAgentVersion.map((r) => ({ ...r, devices: Number(r.devices) })),
        profileGroups: profileGroups.map((r) => ({ ...r, devices: Number(r.devices) })),
      };
    },
  };
}

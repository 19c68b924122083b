/** Deployments and runs counted by status, for the hub's metrics scrape (one grouped query each). */
import { count } from "drizzle-orm";
import type { Db } from "../db/database.js";
import { deployments, runs } from "../db/schema/index.js";

/** Readers of the two status counts; both use the `status` indexes. */
export interface StateCountReaders {
  deploymentStates(): Promise<Record<string, number>>;
  runStates(): Promise<Record<string, number>>;
}

/** Status counts over `db`. */
export function stateCountReaders(db: Db): StateCountReaders {
  return {
    async deploymentStates() {
      const rows = await db
        .select({ status: deployments.status, n: count() })
        .from(deployments)
        .groupBy(deployments.status);
      return Object.fromEntries(rows.map((row) => [row.status, row.n]));
    },
    async runStates() {
      const rows = await db.select({ status: runs.status, n: count() }).from(runs).groupBy(runs.status);
      return Object.fromEntries(rows.map((row) => [row.status, row.n]));
    },
  };
}

/**
 * Driver-neutral database types. Repositories import these, never a driver: PGlite and
 * postgres.js both produce a `PgDatabase`, so one query-builder type serves both.
 */

import type { ExtractTablesWithRelations } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import type * as schema from "./schema/index.js";

export type Schema = typeof schema;

/** A drizzle database over the hub schema, whichever driver is underneath. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

/** A transaction handle; it is also a `Db`, so repository helpers accept either. */
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;

export type Dialect = "pglite" | "postgres";

/** An open hub database; `close()` releases the driver (and PGlite's files). */
export interface Database {
  db: Db;
  dialect: Dialect;
  close(): Promise<void>;
}

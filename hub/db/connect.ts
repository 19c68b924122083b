/**
 * Opens the hub database. THE ONLY file that imports database drivers: PGlite (embedded default,
 * files in `${dataDir}/pglite`) or PostgreSQL via postgres.js when a URL is given. Both run the
 * drizzle-kit migrations in hub/db/migrations before returning.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { type Logger, silentLogger } from "../../lib/log.js";
import { projectRoot } from "../../lib/paths.js";
import type { Database, Db } from "./database.js";
import { PgliteDurability } from "./pglite-durability.js";
import * as schema from "./schema/index.js";

export type { Database, Db, Dialect, Tx } from "./database.js";

export interface OpenDatabaseOptions {
  /** The hub's data folder; PGlite keeps its files in `${dataDir}/pglite`. */
  dataDir: string;
  /** `postgres://…`: use this PostgreSQL server instead of PGlite. */
  databaseUrl?: string;
  log?: Logger;
}

/** Session advisory-lock key so hub replicas starting together run migrations one at a time. */
const MIGRATION_LOCK_KEY = 0x6564_6765; // "edge"
const CONNECT_TIMEOUT_S = 10;

/** Folder of the generated SQL; the same from TypeScript source and from dist/. */
export function migrationsFolder(): string {
  return join(projectRoot(), "hub", "db", "migrations");
}

/** Opens (creating and migrating as needed) the hub database. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const log = options.log ?? silentLogger;
  return options.databaseUrl
    ? openPostgres(options.databaseUrl, log)
    : openPglite(join(options.dataDir, "pglite"), log);
}

/** PGlite's start parameters without `-F` (fsync off); see pglite-durability.ts for the rest. */
export function durableStartParams(): string[] {
  return PGlite.defaultStartParams.filter((param) => param !== "-F");
}

/** Every statement resolves only after what it wrote is fsynced (PGlite's NODEFS never syncs). */
function makeDurable(client: PGlite, folder: string): void {
  const durability = new PgliteDurability(folder);
  const syncToFs = client.syncToFs.bind(client);
  client.syncToFs = async () => {
    await syncToFs();
    await durability.sync();
  };
}

async function openPglite(folder: string, log: Logger): Promise<Database> {
  let client: PGlite | undefined;
  try {
    await mkdir(folder, { recursive: true });
    client = await PGlite.create(folder, { startParams: durableStartParams() });
    const db = drizzlePglite({ client, schema });
    await migratePglite(db, { migrationsFolder: migrationsFolder() });
    // After the migrations, which a crash simply reruns; the first statement then syncs the whole cluster.
    makeDurable(client, folder);
    log.info({ event: "db.opened", dialect: "pglite", folder });
    const opened = client;
    return {
      // PgliteDatabase is a PgDatabase with a narrower result type; repositories only need the common part.
      db: db as unknown as Db,
      dialect: "pglite",
      close: () => opened.close(),
    };
  } catch (error) {
    await client?.close().catch(() => {});
    throw new Error(`could not open the embedded database (PGlite) in ${folder}: ${describe(error)}`, {
      cause: error,
    });
  }
}

async function openPostgres(url: string, log: Logger): Promise<Database> {
  const where = describeUrl(url);
  const common = { connect_timeout: CONNECT_TIMEOUT_S, onnotice: () => {} };
  try {
    await migrateWithLock(url, common);
  } catch (error) {
    throw new Error(`could not open PostgreSQL at ${where}: ${describe(error)}`, { cause: error });
  }
  const client = postgres(url, { ...common, max: 10 });
  log.info({ event: "db.opened", dialect: "postgres", server: where });
  return {
    db: drizzlePostgres({ client, schema }) as unknown as Db,
    dialect: "postgres",
    close: () => client.end({ timeout: 5 }),
  };
}

/** Runs migrations on one dedicated connection holding a session advisory lock. */
async function migrateWithLock(url: string, common: postgres.Options<Record<string, never>>): Promise<void> {
  const client = postgres(url, { ...common, max: 1 });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      await migratePostgres(drizzlePostgres({ client }), { migrationsFolder: migrationsFolder() });
    } finally {
      await client`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.catch(() => {});
    }
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** host:port/database of a URL, never its user or password. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}${parsed.port ? `:${parsed.port}` : ""}${parsed.pathname}`;
  } catch {
    return "(unparseable DATABASE_URL)";
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // drizzle wraps driver errors ("Failed query: …"); the driver's own message says what went wrong.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  const code = (error as { code?: string }).code;
  return `${error.message}${cause}${code && !error.message.includes(code) ? ` (${code})` : ""}`;
}

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
  /** Told the duration of every statement after the migrations (the hub's metrics); must not throw. */
  onQuery?: (seconds: number) => void;
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
  const onQuery = options.onQuery ?? (() => {});
  return options.databaseUrl
    ? openPostgres(options.databaseUrl, log, onQuery)
    : openPglite(join(options.dataDir, "pglite"), log, onQuery);
}

type OnQuery = (seconds: number) => void;

/** Times one promise-returning call: from the call to its settling. */
function timed<T>(onQuery: OnQuery, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const done = () => onQuery((performance.now() - started) / 1000);
  return run().finally(done);
}

/** Times PGlite's statements, inside transactions too (drizzle queries the transaction handle). */
function timePglite(client: PGlite, onQuery: OnQuery): void {
  const query = client.query.bind(client);
  const exec = client.exec.bind(client);
  const transaction = client.transaction.bind(client);
  client.query = ((...args: Parameters<PGlite["query"]>) =>
    timed(onQuery, () => query(...args))) as PGlite["query"];
  client.exec = ((...args: Parameters<PGlite["exec"]>) =>
    timed(onQuery, () => exec(...args))) as PGlite["exec"];
  client.transaction = ((callback: Parameters<PGlite["transaction"]>[0]) =>
    transaction((tx) => {
      const txQuery = tx.query.bind(tx);
      const txExec = tx.exec.bind(tx);
      tx.query = ((...args: Parameters<typeof tx.query>) =>
        timed(onQuery, () => txQuery(...args))) as typeof tx.query;
      tx.exec = ((...args: Parameters<typeof tx.exec>) =>
        timed(onQuery, () => txExec(...args))) as typeof tx.exec;
      return callback(tx);
    })) as PGlite["transaction"];
}

/**
 * Times postgres.js statements. Its queries are lazy thenables that drizzle may switch to array
 * rows (`.values()`) before awaiting, so the timing wraps the query's own `then` rather than
 * awaiting it here; transactions get the same wrapping on their own `sql`.
 */
function timePostgres<S extends postgres.Sql | postgres.TransactionSql>(sql: S, onQuery: OnQuery): S {
  // Loosely typed on purpose: the wrapper forwards whatever postgres.js was given and returns its query.
  type Thenable = {
    then: (resolved?: (value: unknown) => unknown, rejected?: (error: unknown) => unknown) => unknown;
  };
  const target = sql as unknown as {
    unsafe: (...args: unknown[]) => Thenable;
    begin?: (...args: unknown[]) => Promise<unknown>;
  };
  const unsafe = target.unsafe.bind(sql);
  target.unsafe = (...args) => {
    const pending = unsafe(...args);
    const started = performance.now();
    const then = pending.then.bind(pending);
    const done = () => onQuery((performance.now() - started) / 1000);
    // biome-ignore lint/suspicious/noThenProperty: wrapping postgres.js's own lazy thenable is the point.
    pending.then = (resolved, rejected) =>
      then(
        (value) => {
          done();
          return resolved ? resolved(value) : value;
        },
        (error) => {
          done();
          if (rejected) return rejected(error);
          throw error;
        },
      );
    return pending;
  };
  if (target.begin) {
    const begin = target.begin.bind(sql);
    target.begin = (...args) => {
      const callback = args.pop() as (tx: postgres.TransactionSql) => unknown;
      return begin(...args, (tx: postgres.TransactionSql) => callback(timePostgres(tx, onQuery)));
    };
  }
  return sql;
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

async function openPglite(folder: string, log: Logger, onQuery: OnQuery): Promise<Database> {
  let client: PGlite | undefined;
  try {
    await mkdir(folder, { recursive: true });
    client = await PGlite.create(folder, { startParams: durableStartParams() });
    const db = drizzlePglite({ client, schema });
    await migratePglite(db, { migrationsFolder: migrationsFolder() });
    // After the migrations, which a crash simply reruns; the first statement then syncs the whole cluster.
    makeDurable(client, folder);
    timePglite(client, onQuery);
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

async function openPostgres(url: string, log: Logger, onQuery: OnQuery): Promise<Database> {
  const where = describeUrl(url);
  const common = { connect_timeout: CONNECT_TIMEOUT_S, onnotice: () => {} };
  try {
    await migrateWithLock(url, common);
  } catch (error) {
    throw new Error(`could not open PostgreSQL at ${where}: ${describe(error)}`, { cause: error });
  }
  const client = timePostgres(postgres(url, { ...common, max: 10 }), onQuery);
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

/** Dataset versions: one row per (name, sha256 of the bytes); the bytes live in the blob store. */
import { and, asc, count, desc, eq, like, max, sql } from "drizzle-orm";
import type { Db } from "../db/database.js";
import { type DatasetColumnInfo, datasetVersions } from "../db/schema/index.js";
import { clockOf, type RepoOptions } from "./clock.js";
import { ConflictError, isUniqueViolation } from "./errors.js";

export type DatasetVersion = typeof datasetVersions.$inferSelect;

export interface DatasetSummary {
  name: string;
  versions: number;
  latestVersion: string;
  latestAt: Date;
  rows: number;
}

export interface AddDatasetVersionInput {
  name: string;
  version: string;
  format: "csv" | "jsonl";
  bytes: number;
  rows: number;
  target?: string;
  task?: "classification" | "regression";
  overrides?: Record<string, string>;
  columns: DatasetColumnInfo[];
}

export interface DatasetRepo {
  /**
   * Records a version; the same bytes with the same target/task/overrides return the existing row
   * (`created: false`); the same bytes with another schema are a ConflictError.
   */
  addVersion(input: AddDatasetVersionInput): Promise<{ version: DatasetVersion; created: boolean }>;
  /** `latest`, a full sha256 or a unique prefix of at least 8 characters; null when none matches. */
  resolve(name: string, ref: string): Promise<DatasetVersion | null>;
  /** Versions of a dataset, newest first (empty when the dataset does not exist). */
  listVersions(name: string): Promise<DatasetVersion[]>;
  list(): Promise<DatasetSummary[]>;
}

function sameSchema(row: DatasetVersion, input: AddDatasetVersionInput): boolean {
  const norm = (o: Record<string, string> | undefined) => JSON.stringify(Object.entries(o ?? {}).sort());
  return (
    (row.target ?? undefined) === input.target &&
    (row.task ?? undefined) === input.task &&
    norm(row.overrides) === norm(input.overrides)
  );
}

/** Dataset repository over a database. */
export function datasetRepo(db: Db, options?: RepoOptions): DatasetRepo {
  const now = clockOf(options);

  async function byVersion(name: string, version: string): Promise<DatasetVersion | null> {
    const [row] = await db
      .select()
      .from(datasetVersions)
      .where(and(eq(datasetVersions.name, name), eq(datasetVersions.version, version)));
    return row ?? null;
  }

  async function existing(input: AddDatasetVersionInput) {
    const row = await byVersion(input.name, input.version);
    if (row === null) return null;
    if (!sameSchema(row, input)) {
      throw new ConflictError(
        "dataset version",
        `${input.name}@${input.version.slice(0, 12)}`,
        `dataset ${input.name} already has these bytes as version ${input.version.slice(0, 12)} with another target/task/overrides`,
      );
    }
    return { version: row, created: false };
  }

  return {
    async addVersion(input) {
      const found = await existing(input);
      if (found) return found;
      try {
        const [row] = await db
          .insert(datasetVersions)
          .values({
            name: input.name,
            version: input.version,
            format: input.format,
            bytes: input.bytes,
            rows: input.rows,
            target: input.target ?? null,
            task: input.task ?? null,
            overrides: input.overrides ?? {},
            columns: input.columns,
            createdAt: now(),
          })
          .returning();
        return { version: row!, created: true };
      } catch (error) {
        // A concurrent upload of the same bytes won the insert: answer as for a repeat.
        if (isUniqueViolation(error)) {
          const again = await existing(input);
          if (again) return again;
        }
        throw error;
      }
    },

    async resolve(name, ref) {
      if (ref === "latest") {
        const [row] = await db
          .select()
          .from(datasetVersions)
          .where(eq(datasetVersions.name, name))
          .orderBy(desc(datasetVersions.createdAt), desc(datasetVersions.id))
          .limit(1);
        return row ?? null;
      }
      if (!/^[0-9a-f]{8,64}$/.test(ref)) return null;
      if (ref.length === 64) return byVersion(name, ref);
      const rows = await db
        .select()
        .from(datasetVersions)
        .where(and(eq(datasetVersions.name, name), like(datasetVersions.version, `${ref}%`)))
        .limit(2);
      return rows.length === 1 ? rows[0]! : null;
    },

    listVersions: (name) =>
      db
        .select()
        .from(datasetVersions)
        .where(eq(datasetVersions.name, name))
        .orderBy(desc(datasetVersions.createdAt), desc(datasetVersions.id)),

    async list() {
      const groups = await db
        .select({
          name: datasetVersions.name,
          versions: count(datasetVersions.id),
          latestId: max(datasetVersions.id),
        })
        .from(datasetVersions)
        .groupBy(datasetVersions.name)
        .orderBy(asc(datasetVersions.name));
      if (groups.length === 0) return [];
      const latest = await db
        .select()
        .from(datasetVersions)
        .where(
          sql`${datasetVersions.id} in (${sql.join(
            groups.map((g) => sql`${g.latestId}`),
            sql`, `,
          )})`,
        );
      const byId = new Map(latest.map((row) => [row.id, row]));
      return groups.map((g) => {
        const row = byId.get(g.latestId!)!;
        return {
          name: g.name,
          versions: g.versions,
          latestVersion: row.version,
          latestAt: row.createdAt,
          rows: row.rows,
        };
      });
    },
  };
}

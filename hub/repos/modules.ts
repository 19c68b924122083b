/** Packaged modules: one row per (name, semver version) pointing at its signed tarball blob. */
import { and, asc, eq } from "drizzle-orm";
import semver from "semver";
import { z } from "zod";
import { type Manifest, ModuleNameSchema, SemverSchema } from "../../modules/manifest.js";
import { Sha256HexSchema } from "../../wire/messages.js";
import type { Db } from "../db/database.js";
import { modules } from "../db/schema/index.js";
import { clockOf, type RepoOptions } from "./clock.js";
import { ConflictError, isForeignKeyViolation, NotFoundError, ValidationError } from "./errors.js";

export type ModuleRecord = typeof modules.$inferSelect;

export interface CreateModuleInput {
  name: string;
  version: string;
  /** model_versions.id the module packages. */
  modelVersionId: number;
  manifest: Manifest;
  tarballSha256: string;
  tarballSize: number;
}

export interface ModuleRepo {
  /** Records a packaged module; ConflictError on a duplicate name+version, NotFoundError on an unknown model version. */
  create(input: CreateModuleInput): Promise<ModuleRecord>;
  /** One module version, or null. */
  get(name: string, version: string): Promise<ModuleRecord | null>;
  /** Modules (all, or one name's versions), by name then highest semver first. */
  list(name?: string): Promise<ModuleRecord[]>;
  /** Highest release version of a module (a prerelease only when no release exists), or null. */
  latest(name: string): Promise<ModuleRecord | null>;
}

const CreateSchema = z.object({
  name: ModuleNameSchema,
  version: SemverSchema,
  modelVersionId: z.number().int().positive(),
  manifest: z.object({ name: z.string(), version: z.string() }).loose(),
  tarballSha256: Sha256HexSchema,
  tarballSize: z.number().int().nonnegative(),
});

/** Orders by name, then highest semver first (releases above their prereleases, as semver says). */
function byNameThenSemverDesc(a: ModuleRecord, b: ModuleRecord): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : semver.rcompare(a.version, b.version);
}

/** Module repository over a database. */
export function moduleRepo(db: Db, options?: RepoOptions): ModuleRepo {
  const now = clockOf(options);
  return {
    async create(input) {
      const parsed = CreateSchema.safeParse(input);
      if (!parsed.success) throw new ValidationError(z.prettifyError(parsed.error), parsed.error.issues);
      if (input.manifest.name !== input.name || input.manifest.version !== input.version) {
        throw new ValidationError("manifest name and version must match the module's name and version");
      }
      const key = `${input.name}@${input.version}`;
      try {
        const [row] = await db
          .insert(modules)
          .values({ ...input, createdAt: now() })
          .onConflictDoNothing({ target: [modules.name, modules.version] })
          .returning();
        if (!row) throw new ConflictError("module", key);
        return row;
      } catch (error) {
        if (isForeignKeyViolation(error))
          throw new NotFoundError("model version", String(input.modelVersionId));
        throw error;
      }
    },

    async get(name, version) {
      const [row] = await db
        .select()
        .from(modules)
        .where(and(eq(modules.name, name), eq(modules.version, version)));
      return row ?? null;
    },

    async list(name) {
      const rows = await db
        .select()
        .from(modules)
        .where(name === undefined ? undefined : eq(modules.name, name))
        .orderBy(asc(modules.name));
      return rows.sort(byNameThenSemverDesc);
    },

    async latest(name) {
      const rows = (await this.list(name)).filter((row) => row.name === name);
      return rows.find((row) => semver.prerelease(row.version) === null) ?? rows[0] ?? null;
    },
  };
}

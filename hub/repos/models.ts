/** Model registry: models and their versions, numbered 1, 2, 3 … per model without gaps or collisions. */
import { and, asc, count, eq, max } from "drizzle-orm";
import { z } from "zod";
import type { BaselineProfile } from "../../drift-summary/baseline.js";
import { ModuleNameSchema, type TensorSpec, TensorSpecSchema } from "../../modules/manifest.js";
import { Sha256HexSchema } from "../../wire/messages.js";
import type { Db, Tx } from "../db/database.js";
import {
  type ModelInt8,
  type ModelLineage,
  type ModelMetrics,
  type ModelTraining,
  modelAliases,
  models,
  modelVersions,
} from "../db/schema/index.js";
import { clockOf, type RepoOptions } from "./clock.js";
import { NotFoundError, ValidationError } from "./errors.js";

export type ModelVersion = typeof modelVersions.$inferSelect;
export type ModelAlias = typeof modelAliases.$inferSelect;

/** Alias names: like model names but starting with a letter, so "3" is always a version number. */
export const AliasNameSchema = z
  .string()
  .regex(
    /^[a-z](?:[a-z0-9._-]{0,62}[a-z0-9])?$/,
    "a lowercase letter, then letters, digits, '.', '_' or '-', 1-64 long",
  );

export interface ModelSummary {
  name: string;
  description: string | null;
  createdAt: Date;
  /** Highest version number; null for a model without versions. */
  latestVersion: number | null;
  versionCount: number;
}

export interface RegisterVersionInput {
  name: string;
  /** Sets the model's description (on first registration, or replaces it when given later). */
  description?: string;
  /** sha256 of the ONNX bytes. */
  sha256: string;
  size: number;
  /** Blob holding the bytes; defaults to `sha256`. */
  blobSha256?: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  irVersion: number;
  /** Opset version per domain ("" for the default domain). */
  opsets: Record<string, number>;
  producer?: string;
  metadata?: Record<string, unknown>;
  /** Training provenance (run, dataset, recipe …); absent for uploads. */
  lineage?: ModelLineage;
  metrics?: ModelMetrics;
  baseline?: BaselineProfile;
  training?: ModelTraining;
  /** Aliases moved to the new version in the same transaction. */
  aliases?: string[];
}

export interface ModelRepo {
  /** Registers a new version (creating the model if needed) and returns it; numbers never collide. */
  registerVersion(input: RegisterVersionInput): Promise<ModelVersion>;
  /** One version, or null. */
  getVersion(name: string, version: number): Promise<ModelVersion | null>;
  /** One version by its row id, or null. */
  getVersionById(id: number): Promise<ModelVersion | null>;
  /** One model with its latest version number, or null. */
  getModel(name: string): Promise<ModelSummary | null>;
  /** All models by name, each with its latest version number. */
  listModels(): Promise<ModelSummary[]>;
  /** Versions of a model, oldest first; NotFoundError when the model does not exist. */
  listVersions(name: string): Promise<ModelVersion[]>;
  /** A version by number or alias, or null. */
  resolveVersion(name: string, ref: string | number): Promise<ModelVersion | null>;
  /** Records (or replaces) a version's validated int8 variant; NotFoundError for an unknown version. */
  setInt8(name: string, version: number, int8: ModelInt8): Promise<ModelVersion>;
  /** Points an alias at a version (creating or moving it); NotFoundError for an unknown version. */
  setAlias(name: string, alias: string, version: number): Promise<ModelAlias>;
  /** Removes an alias; false when it did not exist. */
  deleteAlias(name: string, alias: string): Promise<boolean>;
  /** The model's aliases by name; NotFoundError when the model does not exist. */
  listAliases(name: string): Promise<ModelAlias[]>;
}

const RegisterSchema = z.object({
  name: ModuleNameSchema,
  description: z.string().max(2000).optional(),
  sha256: Sha256HexSchema,
  size: z.number().int().nonnegative(),
  blobSha256: Sha256HexSchema.optional(),
  inputs: z.array(TensorSpecSchema),
  outputs: z.array(TensorSpecSchema),
  irVersion: z.number().int().nonnegative(),
  opsets: z.record(z.string(), z.number().int().nonnegative()),
  producer: z.string().max(200).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  lineage: z.record(z.string(), z.unknown()).optional(),
  metrics: z.record(z.string(), z.unknown()).optional(),
  baseline: z.record(z.string(), z.unknown()).optional(),
  training: z.record(z.string(), z.unknown()).optional(),
  aliases: z.array(AliasNameSchema).max(20).optional(),
});

type ParsedRegisterInput = z.infer<typeof RegisterSchema>;

/** Checks a registration before any write; ValidationError lists what is wrong. */
export function parseRegisterInput(input: RegisterVersionInput): ParsedRegisterInput {
  const parsed = RegisterSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError(z.prettifyError(parsed.error), parsed.error.issues);
  return parsed.data;
}

/**
 * Registers the next version (creating the model if needed) and moves the aliases to it, inside
 * the caller's transaction: a run's success is registered in the same one (runs.ts).
 */
export async function insertModelVersion(
  tx: Tx,
  value: ParsedRegisterInput,
  at: Date,
): Promise<ModelVersion> {
  await tx
    .insert(models)
    .values({ name: value.name, description: value.description ?? null, createdAt: at })
    .onConflictDoNothing({ target: models.name });
  // Lock the model row: concurrent registrations queue here, and each then reads a fresh max.
  await tx.select({ name: models.name }).from(models).where(eq(models.name, value.name)).for("update");
  if (value.description !== undefined) {
    await tx.update(models).set({ description: value.description }).where(eq(models.name, value.name));
  }
  const [last] = await tx
    .select({ version: max(modelVersions.version) })
    .from(modelVersions)
    .where(eq(modelVersions.modelName, value.name));
  const [row] = await tx
    .insert(modelVersions)
    .values({
      modelName: value.name,
      version: (last?.version ?? 0) + 1,
      sha256: value.sha256,
      size: value.size,
      blobSha256: value.blobSha256 ?? value.sha256,
      inputs: value.inputs,
      outputs: value.outputs,
      irVersion: value.irVersion,
      opsets: value.opsets,
      producer: value.producer ?? "",
      metadata: value.metadata ?? {},
      createdAt: at,
      lineage: (value.lineage as ModelLineage | undefined) ?? null,
      metrics: (value.metrics as ModelMetrics | undefined) ?? null,
      baseline: (value.baseline as BaselineProfile | undefined) ?? null,
      training: (value.training as ModelTraining | undefined) ?? null,
    })
    .returning();
  for (const alias of new Set(value.aliases ?? [])) {
    await tx
      .insert(modelAliases)
      .values({ modelName: value.name, alias, version: row!.version, updatedAt: at })
      .onConflictDoUpdate({
        target: [modelAliases.modelName, modelAliases.alias],
        set: { version: row!.version, updatedAt: at },
      });
  }
  return row!;
}

/** Model repository over a database. */
export function modelRepo(db: Db, options?: RepoOptions): ModelRepo {
  const now = clockOf(options);

  async function summaries(name?: string): Promise<ModelSummary[]> {
    return db
      .select({
        name: models.name,
        description: models.description,
        createdAt: models.createdAt,
        latestVersion: max(modelVersions.version),
        versionCount: count(modelVersions.id),
      })
      .from(models)
      .leftJoin(modelVersions, eq(modelVersions.modelName, models.name))
      .where(name === undefined ? undefined : eq(models.name, name))
      .groupBy(models.name)
      .orderBy(asc(models.name));
  }

  return {
    async registerVersion(input) {
      const value = parseRegisterInput(input);
      return db.transaction((tx) => insertModelVersion(tx, value, now()));
    },

    async getVersion(name, version) {
      const [row] = await db
        .select()
        .from(modelVersions)
        .where(and(eq(modelVersions.modelName, name), eq(modelVersions.version, version)));
      return row ?? null;
    },

    async getVersionById(id) {
      const [row] = await db.select().from(modelVersions).where(eq(modelVersions.id, id));
      return row ?? null;
    },

    async getModel(name) {
      const [row] = await summaries(name);
      return row ?? null;
    },

    listModels: () => summaries(),

    async listVersions(name) {
      const rows = await db
        .select()
        .from(modelVersions)
        .where(eq(modelVersions.modelName, name))
        .orderBy(asc(modelVersions.version));
      if (rows.length === 0) {
        const [model] = await db.select({ name: models.name }).from(models).where(eq(models.name, name));
        if (!model) throw new NotFoundError("model", name);
      }
      return rows;
    },

    async resolveVersion(name, ref) {
      if (typeof ref === "number" || /^[0-9]+$/.test(ref)) {
        return this.getVersion(name, Number(ref));
      }
      const [row] = await db
        .select({ version: modelVersions })
        .from(modelAliases)
        .innerJoin(
          modelVersions,
          and(
            eq(modelVersions.modelName, modelAliases.modelName),
            eq(modelVersions.version, modelAliases.version),
          ),
        )
        .where(and(eq(modelAliases.modelName, name), eq(modelAliases.alias, ref)));
      return row?.version ?? null;
    },

    async setInt8(name, version, int8) {
      const [row] = await db
        .update(modelVersions)
        .set({ int8 })
        .where(and(eq(modelVersions.modelName, name), eq(modelVersions.version, version)))
        .returning();
      if (!row) throw new NotFoundError("model version", `${name}@${version}`);
      return row;
    },

    async setAlias(name, alias, version) {
      const parsed = AliasNameSchema.safeParse(alias);
      if (!parsed.success) throw new ValidationError(`alias: ${z.prettifyError(parsed.error)}`);
      if (!(await this.getVersion(name, version))) {
        throw new NotFoundError("model version", `${name}@${version}`);
      }
      const at = now();
      const [row] = await db
        .insert(modelAliases)
        .values({ modelName: name, alias, version, updatedAt: at })
        .onConflictDoUpdate({
          target: [modelAliases.modelName, modelAliases.alias],
          set: { version, updatedAt: at },
        })
        .returning();
      return row!;
    },

    async deleteAlias(name, alias) {
      const rows = await db
        .delete(modelAliases)
        .where(and(eq(modelAliases.modelName, name), eq(modelAliases.alias, alias)))
        .returning({ alias: modelAliases.alias });
      return rows.length > 0;
    },

    async listAliases(name) {
      const [model] = await db.select({ name: models.name }).from(models).where(eq(models.name, name));
      if (!model) throw new NotFoundError("model", name);
      return db
        .select()
        .from(modelAliases)
        .where(eq(modelAliases.modelName, name))
        .orderBy(asc(modelAliases.alias));
    },
  };
}

/** Model registry: models and their versions, numbered 1, 2, 3 … per model without gaps or collisions. */
import { and, asc, count, eq, max } from "drizzle-orm";
import { z } from "zod";
import { ModuleNameSchema, type TensorSpec, TensorSpecSchema } from "../../modules/manifest.js";
import { Sha256HexSchema } from "../../wire/messages.js";
import type { Db } from "../db/database.js";
import { models, modelVersions } from "../db/schema/index.js";
import { clockOf, type RepoOptions } from "./clock.js";
import { NotFoundError, ValidationError } from "./errors.js";

export type ModelVersion = typeof modelVersions.$inferSelect;

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
});

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
      const parsed = RegisterSchema.safeParse(input);
      if (!parsed.success) throw new ValidationError(z.prettifyError(parsed.error), parsed.error.issues);
      const value = parsed.data;
      return db.transaction(async (tx) => {
        const at = now();
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
          })
          .returning();
        return row!;
      });
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
  };
}

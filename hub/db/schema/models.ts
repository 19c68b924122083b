/** Model registry: named models and their numbered versions (1, 2, 3 … per model). */
import { sql } from "drizzle-orm";
import { bigint, integer, jsonb, pgTable, serial, text, timestamp, unique } from "drizzle-orm/pg-core";
import type { TensorSpec } from "../../../modules/manifest.js";

export const models = pgTable("models", {
  name: text("name").primaryKey(),
  description: text("description"),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
});

export const modelVersions = pgTable(
  "model_versions",
  {
    id: serial("id").primaryKey(),
    modelName: text("model_name")
      .notNull()
      .references(() => models.name, { onDelete: "restrict" }),
    version: integer("version").notNull(),
    /** sha256 of the ONNX file bytes. */
    sha256: text("sha256").notNull(),
    size: bigint("size", { mode: "number" }).notNull(),
    /** Blob holding the file (content-addressed; equals sha256 unless stored transformed). */
    blobSha256: text("blob_sha256").notNull(),
    inputs: jsonb("inputs").$type<TensorSpec[]>().notNull(),
    outputs: jsonb("outputs").$type<TensorSpec[]>().notNull(),
    irVersion: integer("ir_version").notNull(),
    /** Opset version per domain, "" being the default ONNX domain. */
    opsets: jsonb("opsets").$type<Record<string, number>>().notNull(),
    producer: text("producer").notNull().default(""),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
  },
  (t) => [unique("model_versions_name_version_uq").on(t.modelName, t.version)],
);

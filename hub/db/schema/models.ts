/** Model registry: named models and their numbered versions (1, 2, 3 … per model). */
import { sql } from "drizzle-orm";
import {
  bigint,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  unique,
} from "drizzle-orm/pg-core";
import type { BaselineProfile } from "../../../drift-summary/baseline.js";
import type { TensorSpec } from "../../../modules/manifest.js";

/** Where a model version came from (a training run), for the registry's lineage view. */
export interface ModelLineage {
  run?: string;
  attempt?: number;
  dataset?: { name: string; version: string };
  recipe?: string;
  snapshot?: string;
  params?: Record<string, unknown>;
  worker?: string;
  experiment?: string;
}

/** Metrics of a trained version per split (the test split's are measured by the hub on the ONNX). */
export interface ModelMetrics {
  test?: Record<string, number | null>;
  validation?: Record<string, number | null>;
  train?: Record<string, number | null>;
}

/** What packaging needs to build a module manifest from a trained version. */
export interface ModelTraining {
  features: { name: string; default: number; categories?: string[] }[];
  classes: string[];
  inputMode: "vector" | "columns";
  task: "classification" | "regression";
  target: string;
}

/**
 * A version's int8 variant (hub/quantization/): the quantized file and what it costs on the
 * version's own test split, measured by the hub on both ONNX files in the same run.
 */
export interface ModelInt8 {
  /** dynamic: activations quantized per request; static: with ranges calibrated on training rows. */
  mode: "dynamic" | "static";
  /** Static only: how many training rows calibrated the activation ranges. */
  calibrationRows?: number;
  sha256: string;
  size: number;
  floatSize: number;
  /** Quantized nodes per operator, and candidates left in float. */
  quantized: Record<string, number>;
  skipped: number;
  opset: { from: number; to: number };
  /** The metric the threshold applies to (accuracy or rmse) and whether higher is better. */
  metric: string;
  higherIsBetter: boolean;
  float: number;
  int8: number;
  /** The metric's loss relative to float (0.004 = 0.4 % worse; negative = int8 is better). */
  relativeLoss: number;
  testRows: number;
  metrics: { float: Record<string, number | null>; int8: Record<string, number | null> };
  createdAt: string;
  /** Who asked for it (the token's name). */
  by: string;
}

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
    /** Set for versions produced by a training run; null for uploads. */
    lineage: jsonb("lineage").$type<ModelLineage>(),
    metrics: jsonb("metrics").$type<ModelMetrics>(),
    /** Training-rows profile for drift monitoring (training/baseline.ts). */
    baseline: jsonb("baseline").$type<BaselineProfile>(),
    training: jsonb("training").$type<ModelTraining>(),
    /** The validated int8 variant, once `models quantize` ran; null before. */
    int8: jsonb("int8").$type<ModelInt8>(),
  },
  (t) => [unique("model_versions_name_version_uq").on(t.modelName, t.version)],
);

/** Named pointers to a version ("champion", "staging"); moved by PUT, one per (model, alias). */
export const modelAliases = pgTable(
  "model_aliases",
  {
    modelName: text("model_name")
      .notNull()
      .references(() => models.name, { onDelete: "cascade" }),
    alias: text("alias").notNull(),
    version: integer("version").notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.modelName, t.alias] })],
);

/** What the model registry routes answer: models, versions with metrics and lineage, aliases. */
import { z } from "zod";
import { TensorSpecSchema } from "../../../modules/manifest.js";
import { MetricsSchema, Timestamp } from "./common.js";

export const ModelSummarySchema = z
  .object({
    name: z.string(),
    description: z.string().nullable(),
    createdAt: Timestamp,
    latestVersion: z.number().int().nullable(),
    versionCount: z.number().int(),
  })
  .meta({ id: "ModelSummary" });

export const LineageSchema = z
  .object({
    run: z.string().optional(),
    attempt: z.number().int().optional(),
    dataset: z.object({ name: z.string(), version: z.string() }).optional(),
    recipe: z.string().optional(),
    snapshot: z.string().optional(),
    params: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "the recipe's hyperparameters as given" }),
    worker: z.string().optional(),
    experiment: z.string().optional(),
  })
  .meta({ id: "Lineage", description: "where a model version came from" });

export const SplitMetricsSchema = z
  .object({
    test: MetricsSchema.optional(),
    validation: MetricsSchema.optional(),
    train: MetricsSchema.optional(),
  })
  .meta({
    id: "SplitMetrics",
    description: "metrics per split; the test split's are measured by the hub on the ONNX",
  });

const TrainingSchema = z.object({
  features: z.array(
    z.object({ name: z.string(), default: z.number(), categories: z.array(z.string()).optional() }),
  ),
  classes: z.array(z.string()),
  inputMode: z.enum(["vector", "columns"]),
  task: z.enum(["classification", "regression"]),
  target: z.string(),
});

const FigureMap = z.record(z.string(), z.number().nullable());

export const Int8Schema = z
  .object({
    mode: z.enum(["dynamic", "static"]),
    calibrationRows: z
      .number()
      .int()
      .optional()
      .meta({ description: "static: training rows that calibrated the activation ranges" }),
    sha256: z.string(),
    size: z.number().int(),
    floatSize: z.number().int(),
    quantized: z.record(z.string(), z.number().int()).meta({ description: "quantized nodes per operator" }),
    skipped: z.number().int().meta({ description: "candidate nodes left in float" }),
    opset: z.object({ from: z.number().int(), to: z.number().int() }),
    metric: z.string().meta({ description: "the metric the threshold applies to (accuracy or rmse)" }),
    higherIsBetter: z.boolean(),
    float: z.number(),
    int8: z.number(),
    relativeLoss: z
      .number()
      .meta({ description: "0.004 = 0.4 % worse than float; negative = int8 is better" }),
    testRows: z.number().int(),
    metrics: z.object({ float: FigureMap, int8: FigureMap }),
    createdAt: Timestamp,
    by: z.string(),
  })
  .meta({
    id: "ModelInt8",
    description: "the validated int8 variant, measured on the version's own test split",
  });

export const ModelVersionSchema = z
  .object({
    id: z.number().int(),
    modelName: z.string(),
    version: z.number().int(),
    sha256: z.string(),
    size: z.number().int(),
    blobSha256: z.string(),
    inputs: z.array(TensorSpecSchema),
    outputs: z.array(TensorSpecSchema),
    irVersion: z.number().int(),
    opsets: z.record(z.string(), z.number().int()),
    producer: z.string(),
    metadata: z
      .record(z.string(), z.unknown())
      .meta({ description: "the ONNX file's metadata_props, key to value" }),
    createdAt: Timestamp,
    lineage: LineageSchema.nullable(),
    metrics: SplitMetricsSchema.nullable(),
    baseline: z.record(z.string(), z.unknown()).nullable().meta({
      description: "the training-data profile drift monitors compare against (bins and reference statistics)",
    }),
    training: TrainingSchema.nullable(),
    int8: Int8Schema.nullable(),
  })
  .meta({ id: "ModelVersion" });

export const ModelVersionWithAliasesSchema = ModelVersionSchema.extend({ aliases: z.array(z.string()) }).meta(
  {
    id: "ModelVersionWithAliases",
  },
);

export const AliasSchema = z
  .object({ alias: z.string(), version: z.number().int(), updatedAt: Timestamp })
  .meta({ id: "ModelAlias" });

export const ComparedVersionSchema = z.object({
  version: z.number().int(),
  aliases: z.array(z.string()),
  lineage: LineageSchema.nullable(),
  metrics: SplitMetricsSchema.nullable(),
  createdAt: Timestamp,
});

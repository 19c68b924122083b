/** What the dataset routes answer: immutable dataset versions with their inferred schema. */
import { z } from "zod";
import { Timestamp } from "./common.js";

export const DatasetColumnSchema = z
  .object({
    name: z.string(),
    kind: z.string().meta({ description: "numeric, boolean, categorical, text, constant or ignore" }),
    note: z.string().optional(),
    stats: z.unknown().optional().meta({ description: "key statistics: missing count, range or top values" }),
  })
  .meta({ id: "DatasetColumn" });

export const DatasetVersionSchema = z
  .object({
    name: z.string(),
    version: z.string().meta({ description: "the sha256 of the uploaded bytes" }),
    format: z.enum(["csv", "jsonl"]),
    bytes: z.number().int(),
    rows: z.number().int(),
    target: z.string().optional(),
    task: z.enum(["classification", "regression"]).optional(),
    overrides: z.record(z.string(), z.string()).nullable(),
    columns: z.array(DatasetColumnSchema),
    createdAt: Timestamp,
  })
  .meta({ id: "DatasetVersion" });

export const DatasetSummarySchema = z
  .object({
    name: z.string(),
    versions: z.number().int(),
    latestVersion: z.string(),
    latestAt: Timestamp,
    rows: z.number().int(),
  })
  .meta({ id: "DatasetSummary" });

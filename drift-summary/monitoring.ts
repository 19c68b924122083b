/**
 * The manifest's optional `monitoring` section: which model inputs and outputs a device summarises
 * for drift, on which bins, and the training reference counted on the same bins. Column kinds are
 * declared here, never guessed on the device. `baselineId` names the bins, so the hub can refuse to
 * compare a summary with a baseline it was not counted on. Built from a training baseline profile
 * by the hub (`hub/monitors/from-baseline.ts`).
 */
import { z } from "zod";
import { SHA256_HEX_PATTERN, sha256Hex } from "../lib/files.js";

const Sha256HexSchema = z.string().regex(SHA256_HEX_PATTERN, "sha256 as 64 lowercase hex characters");

/** Most bins a numeric column may have and most entries a vocabulary may have (payload bound). */
export const MAX_EDGES = 257;
export const MAX_VOCABULARY = 1024;
export const DEFAULT_MIN_ROWS = 20;
export const DEFAULT_SAMPLES_PER_WINDOW = 20;
export const MAX_SAMPLES_PER_WINDOW = 1000;

/**
 * Where a column's value comes from, per scored row:
 * - `{ input, index? }`: model input tensor `input`, column `index` of a [batch, F] tensor (absent: one value per row);
 * - `{ feature }`: a tabular feature, read from the preprocessing input tensor with mean/std undone;
 * - `{ output, index? }`: model output tensor column, like `input`;
 * - `{ output, argmax: true }`: the index of the row's largest value (the predicted class).
 */
export const MonitoredSourceSchema = z.union([
  z.object({ input: z.string().min(1), index: z.number().int().nonnegative().optional() }).strict(),
  z.object({ feature: z.string().min(1) }).strict(),
  z.object({ output: z.string().min(1), index: z.number().int().nonnegative().optional() }).strict(),
  z.object({ output: z.string().min(1), argmax: z.literal(true) }).strict(),
]);
export type MonitoredSource = z.infer<typeof MonitoredSourceSchema>;

const count = z.number().int().nonnegative();

export const NumericReferenceSchema = z.object({
  counts: z.array(count),
  means: z.array(z.number().nullable()).optional(),
  missing: count,
  below: count,
  above: count,
  count: count,
  mean: z.number().nullable(),
  std: z.number().nonnegative().nullable(),
});

export const CategoricalReferenceSchema = z.object({
  /** Per vocabulary entry. */
  counts: z.array(count),
  unseen: count,
  missing: count,
  count: count,
});

/**
 * Numeric bins: bin i holds edges[i] <= x < edges[i+1], the last one includes its upper edge; values
 * outside [edges[0], edges[last]] count as below/above. One edge: its one bin is that point.
 */
export const NumericColumnSchema = z.object({
  name: z.string().min(1),
  kind: z.literal("numeric"),
  source: MonitoredSourceSchema,
  edges: z.array(z.number()).max(MAX_EDGES),
  reference: NumericReferenceSchema,
});

/** Categorical: a number is a code into `vocabulary`, a string is looked up in it; others are unseen. */
export const CategoricalColumnSchema = z.object({
  name: z.string().min(1),
  kind: z.literal("categorical"),
  source: MonitoredSourceSchema,
  vocabulary: z.array(z.string()).max(MAX_VOCABULARY),
  reference: CategoricalReferenceSchema,
});

export const MonitoredColumnSchema = z.discriminatedUnion("kind", [
  NumericColumnSchema,
  CategoricalColumnSchema,
]);
export type MonitoredColumn = z.infer<typeof MonitoredColumnSchema>;
export type NumericColumn = z.infer<typeof NumericColumnSchema>;
export type CategoricalColumn = z.infer<typeof CategoricalColumnSchema>;

/** Bins a numeric column has: one per pair of edges, one for a single edge, none without edges. */
export function numericBinCount(edges: readonly number[]): number {
  return edges.length === 0 ? 0 : Math.max(edges.length - 1, 1);
}

export const MonitoringSchema = z
  .object({
    /** sha256 of the canonical JSON of `{ columns, outputs }`: the bins summaries are counted on. */
    baselineId: Sha256HexSchema,
    /** Model inputs, in order. */
    columns: z.array(MonitoredColumnSchema),
    /** Classifier: "p(<class>)" per class + categorical "predicted"; regressor: "prediction". */
    outputs: z.array(MonitoredColumnSchema),
    /** Raw rows leave the device only when the hub asks (collect-samples) and this allows it. */
    samples: z
      .object({
        allowed: z.boolean(),
        maxPerWindow: z.number().int().min(1).max(MAX_SAMPLES_PER_WINDOW).default(DEFAULT_SAMPLES_PER_WINDOW),
      })
      .optional(),
    /** Windows with fewer rows are held back on the device and merged into the next one. */
    minRows: z.number().int().min(1).default(DEFAULT_MIN_ROWS),
  })
  .superRefine((spec, ctx) => {
    const names = new Set<string>();
    for (const [group, columns] of [
      ["columns", spec.columns],
      ["outputs", spec.outputs],
    ] as const) {
      columns.forEach((column, i) => {
        const path = [group, i];
        if (names.has(`${group}:${column.name}`)) {
          ctx.addIssue({ code: "custom", path, message: `${group} name "${column.name}" appears twice` });
        }
        names.add(`${group}:${column.name}`);
        for (const problem of columnProblems(column))
          ctx.addIssue({ code: "custom", path, message: problem });
      });
    }
    if (spec.baselineId !== baselineIdOf(spec)) {
      ctx.addIssue({
        code: "custom",
        path: ["baselineId"],
        message: "baselineId is not the sha256 of the canonical JSON of columns and outputs",
      });
    }
  });
export type Monitoring = z.infer<typeof MonitoringSchema>;
/** The name the drift contract uses. */
export type MonitoringSpec = Monitoring;
export type MonitoringInput = z.input<typeof MonitoringSchema>;

function columnProblems(column: MonitoredColumn): string[] {
  const problems: string[] = [];
  if (column.kind === "numeric") {
    for (let i = 1; i < column.edges.length; i++) {
      if (!(column.edges[i]! > column.edges[i - 1]!)) {
        problems.push(`column "${column.name}": edges must increase strictly`);
        break;
      }
    }
    const bins = numericBinCount(column.edges);
    if (column.reference.counts.length !== bins) {
      problems.push(`column "${column.name}": reference.counts needs ${bins} entries (one per bin)`);
    }
    if (column.reference.means !== undefined && column.reference.means.length !== bins) {
      problems.push(`column "${column.name}": reference.means needs ${bins} entries (one per bin)`);
    }
  } else {
    if (new Set(column.vocabulary).size !== column.vocabulary.length) {
      problems.push(`column "${column.name}": vocabulary entries must be unique`);
    }
    if (column.reference.counts.length !== column.vocabulary.length) {
      problems.push(`column "${column.name}": reference.counts needs one entry per vocabulary entry`);
    }
  }
  if ("argmax" in column.source && column.kind !== "categorical") {
    problems.push(
      `column "${column.name}": an argmax source is a class index, so the column must be categorical`,
    );
  }
  return problems;
}

/** JSON with object keys sorted at every level: the same value always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The baselineId of a spec: sha256 of the canonical JSON of its columns and outputs. */
export function baselineIdOf(spec: { columns: readonly unknown[]; outputs: readonly unknown[] }): string {
  return sha256Hex(canonicalJson({ columns: spec.columns, outputs: spec.outputs }));
}

/** Cross-checks a monitoring section against the manifest's tensors and preprocessing. */
export function monitoringProblems(
  monitoring: Monitoring,
  manifest: {
    inputs: readonly { name: string }[];
    outputs: readonly { name: string }[];
    preprocessing: { kind: string; features?: readonly { name: string }[] };
  },
): string[] {
  const inputs = new Set(manifest.inputs.map((t) => t.name));
  const outputs = new Set(manifest.outputs.map((t) => t.name));
  const features = new Set(
    manifest.preprocessing.kind === "tabular"
      ? (manifest.preprocessing.features ?? []).map((f) => f.name)
      : [],
  );
  const problems: string[] = [];
  for (const column of [...monitoring.columns, ...monitoring.outputs]) {
    const source = column.source;
    if ("input" in source && !inputs.has(source.input)) {
      problems.push(`monitoring column "${column.name}": "${source.input}" is not a model input`);
    }
    if ("output" in source && !outputs.has(source.output)) {
      problems.push(`monitoring column "${column.name}": "${source.output}" is not a model output`);
    }
    if ("feature" in source && !features.has(source.feature)) {
      problems.push(`monitoring column "${column.name}": "${source.feature}" is not a tabular feature`);
    }
  }
  return problems;
}

/**
 * `module.json`: what a model module is. The hub writes it when packaging, signs its exact bytes,
 * and the agent validates it before anything else. Schema version 1.
 */
import semver from "semver";
import { z } from "zod";
import { MonitoringSchema, monitoringProblems } from "../drift-summary/monitoring.js";
import { PrecisionSchema } from "../firmware-profiles/schema.js";
import { Sha256HexSchema } from "../wire/messages.js";
import { BOX_FORMATS } from "./image-geometry.js";
import { ImagePreprocessingSchema, imageProblems } from "./image-manifest.js";

export {
  FIXED_RESIZE_MODES,
  fixedSize,
  type ImagePreprocessing,
  ImagePreprocessingSchema,
  type KeepAspectResize,
  KeepAspectResizeSchema,
} from "./image-manifest.js";

export const MANIFEST_FILE = "module.json";
export const SIGNATURE_FILE = "module.sig";
export const MANIFEST_SCHEMA_VERSION = 1;

/** Open Inference Protocol v2 tensor datatypes (the ones ONNX models use). */
export const TENSOR_DATATYPES = [
  "BOOL",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "FP16",
  "FP32",
  "FP64",
  "BYTES",
] as const;
export const TensorDatatypeSchema = z.enum(TENSOR_DATATYPES);
export type TensorDatatype = z.infer<typeof TensorDatatypeSchema>;

/** A model input or output; -1 marks a dynamic dimension (OIP convention). */
export const TensorSpecSchema = z.object({
  name: z.string().min(1),
  datatype: TensorDatatypeSchema,
  shape: z.array(z.number().int().min(-1)),
});
export type TensorSpec = z.infer<typeof TensorSpecSchema>;

export const ModuleNameSchema = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/, "lowercase letters, digits, '.', '_' or '-', 1-64 long");

export const SemverSchema = z
  .string()
  .refine((value) => semver.valid(value) === value, "a semantic version such as 1.2.0");

/** Tabular preprocessing: named JSON features → one [batch, n] float tensor, in a fixed order. */
export const TabularFeatureSchema = z.object({
  name: z.string().min(1),
  /** Standardisation learned at training time: (x - mean) / std. */
  mean: z.number().optional(),
  std: z.number().positive().optional(),
  /** Used when the feature is missing from a request; without it a missing feature is an error. */
  default: z.number().optional(),
  /**
   * A categorical feature's vocabulary in code order: a request may send the category's name, which
   * becomes its index; a name outside it becomes -1, which trained models read as "unseen".
   */
  categories: z.array(z.string()).min(1).optional(),
});
export type TabularFeature = z.infer<typeof TabularFeatureSchema>;

export const PreprocessingSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("none") }),
  z.object({
    kind: z.literal("tabular"),
    /** Model input the feature vector is fed to. */
    input: z.string().min(1),
    features: z.array(TabularFeatureSchema).min(1),
  }),
  ImagePreprocessingSchema,
]);
export type Preprocessing = z.infer<typeof PreprocessingSchema>;

const labels = z.array(z.string()).min(1).optional();
export const PostprocessingSchema = z.discriminatedUnion("kind", [
  /**
   * Every requested output as a plain array, split into one value per row along each output's batch
   * axis: `batchAxes[output]` is that axis, or null for an output returned whole to every row (a
   * state `[layers, batch, 64]` has axis 1). The packer fills it in from the model's symbolic
   * dimensions (modules/batch-axes.ts); an output it does not name is split along dimension 0 when
   * that dimension has the batch's size, else returned whole.
   */
  z.object({
    kind: z.literal("raw"),
    batchAxes: z.record(z.string(), z.number().int().min(0).max(7).nullable()).optional(),
    /**
     * The output that holds boxes, in pixels of the model input: its last axis has 4 or more
     * values per box, the first four in `format`. On image requests they are mapped back to each
     * original image's pixels (modules/image-geometry.ts); the response says which space they are in.
     */
    boxes: z
      .object({ output: z.string().min(1), format: z.enum(BOX_FORMATS).default("xyxy") })
      .strict()
      .optional(),
  }),
  /** Probabilities per label (softmax over logits unless `fromProbabilities`). */
  z.object({
    kind: z.literal("softmax"),
    output: z.string().min(1),
    labels,
    fromProbabilities: z.boolean().default(false),
  }),
  /** Winning label (or index) and its score. */
  z.object({
    kind: z.literal("argmax"),
    output: z.string().min(1),
    labels,
    applySoftmax: z.boolean().default(true),
  }),
  /** The k best labels with scores. */
  z.object({
    kind: z.literal("topk"),
    output: z.string().min(1),
    labels,
    k: z.number().int().positive(),
    applySoftmax: z.boolean().default(true),
  }),
  /** Binary decision on one score: `labels[1]` when score >= threshold, else `labels[0]`. */
  z.object({
    kind: z.literal("threshold"),
    output: z.string().min(1),
    threshold: z.number(),
    labels: z.tuple([z.string(), z.string()]).optional(),
    applySigmoid: z.boolean().default(false),
  }),
]);
export type Postprocessing = z.infer<typeof PostprocessingSchema>;

/**
 * One input's warm-up tensor: a concrete shape (no -1), zeros unless `data` gives the values (one
 * value fills the tensor; otherwise one per element, row-major). For models that cannot run on
 * zeros with every dynamic dimension 1 (a reflect pad needs length ≥ 2, a sample rate must be 16000).
 */
export const WarmupInputSchema = z
  .object({
    shape: z
      .array(
        z
          .number()
          .int()
          .min(0)
          .max(1 << 24),
      )
      .max(8),
    data: z
      .array(z.union([z.number(), z.string(), z.boolean()]))
      .min(1)
      .max(1 << 16)
      .optional(),
  })
  .strict();
export type WarmupInput = z.infer<typeof WarmupInputSchema>;

export const RuntimeOptionsSchema = z.object({
  /** ORT intra-op threads; 1 suits small models on small devices (onnxruntime threading docs: more threads than cores only add contention). */
  intraOpNumThreads: z.number().int().min(0).max(64).default(1),
  interOpNumThreads: z.number().int().min(0).max(64).default(1),
  /** Spinning burns a core while idle; off by default on devices. */
  allowSpinning: z.boolean().default(false),
  graphOptimizationLevel: z.enum(["disabled", "basic", "extended", "all"]).default("all"),
  executionProviders: z.array(z.string()).default(["cpu"]),
  /** Inference runs on a warm-up input this many times before the version takes traffic. */
  warmupRuns: z.number().int().min(0).max(100).default(1),
  /**
   * Warm-up tensors by input name (modules/warmup.ts); inputs left out get zeros with every dynamic
   * dimension 1. The hub's packager fills this in when the defaults do not run.
   */
  warmupInputs: z.record(z.string(), WarmupInputSchema).optional(),
  /**
   * Where runs happen: "auto" times the warm-up in a worker thread and keeps models that run in
   * about a millisecond inline on the agent's main thread; "inline" or "worker" force one.
   */
  executor: z.enum(["auto", "inline", "worker"]).default("auto"),
  /** Micro-batching: most rows per session run (1 = off). Off anyway when dimension 0 is fixed. */
  maxBatch: z.number().int().min(1).max(1024).default(8),
  /** Longest a request waits for more rows while the module is busy (never when it is idle). */
  maxQueueDelayMs: z.number().min(0).max(1000).default(2),
  /** Requests waiting for the session past this many are refused (429/503 with Retry-After). */
  maxQueue: z.number().int().min(1).max(10_000).default(32),
  /** Per-request deadline in ms (queue wait plus run); absent: the agent's default (10 s). */
  timeoutMs: z.number().int().min(1).max(600_000).optional(),
  /**
   * Inputs whose missing values are NaN (models trained to read NaN as missing, such as boosted
   * trees): OIP JSON has no NaN, so a `null` element in these inputs becomes NaN. Float inputs only.
   */
  missingAsNaN: z.array(z.string().min(1)).max(64).optional(),
  /** Largest request body on this module's routes; absent: the agent's `maxBodyBytes` (16 MiB). */
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024 * 1024)
    .optional(),
});
export type RuntimeOptions = z.infer<typeof RuntimeOptionsSchema>;

export const ResourceNeedsSchema = z.object({
  memoryMb: z.number().positive().optional(),
  diskMb: z.number().positive().optional(),
});

export const ModelFileSchema = z.object({
  /** Path inside the module, a plain file name. */
  file: z.string().regex(/^[A-Za-z0-9._-]+\.onnx$/, "a plain file name ending in .onnx"),
  sha256: Sha256HexSchema,
  size: z.number().int().positive(),
  opset: z.number().int().positive().optional(),
  irVersion: z.number().int().positive().optional(),
});

/** What a device must offer for a variant to be chosen; every field given must hold (modules/select-variant.ts). */
export const VariantRequiresSchema = z
  .object({
    /** Firmware profile ids (firmware-profiles/), any of them. */
    profiles: z.array(z.string().min(1)).min(1).optional(),
    /** CPU architectures as Node's os.arch() spells them, any of them. */
    arch: z.array(z.string().min(1)).min(1).optional(),
    /** Execution providers the device must have, all of them. */
    executionProviders: z.array(z.string().min(1)).min(1).optional(),
    /** The device's memory budget for models (MiB) must be at least this. */
    minMemoryMb: z.number().positive().optional(),
    /** The device profile's preferred precision must be one of these. */
    precision: z.array(PrecisionSchema).min(1).optional(),
  })
  .strict();
export type VariantRequires = z.infer<typeof VariantRequiresSchema>;

/**
 * A variant's measured cost against the base model, made by the hub on the model version's test
 * split with both files in onnxruntime (`models quantize`). The preflight compares `relativeLoss`
 * with the deployment's threshold; signed with the manifest, so a device's variant is attributable.
 */
export const VariantValidationSchema = z
  .object({
    /** The metric judged ("accuracy", "rmse") and whether higher is better. */
    metric: z.string().min(1).max(64),
    higherIsBetter: z.boolean(),
    /** The base model's and this variant's value on the same rows. */
    reference: z.number(),
    value: z.number(),
    /** (reference - value) / |reference| when higher is better, the other way round otherwise. */
    relativeLoss: z.number(),
    testRows: z.number().int().nonnegative(),
    /** How the variant was made, e.g. "int8-dynamic". */
    method: z.string().min(1).max(64),
  })
  .strict();
export type VariantValidation = z.infer<typeof VariantValidationSchema>;

/** Largest number of variants a module may carry (each adds a model file to the tarball). */
export const MAX_VARIANTS = 7;

/** A per-profile alternative model file; the first variant a device satisfies replaces `model`. */
export const ModuleVariantSchema = z.object({
  name: z
    .string()
    .regex(
      /^[a-z0-9](?:[a-z0-9._-]{0,30}[a-z0-9])?$/,
      "lowercase letters, digits, '.', '_' or '-', 1-32 long",
    ),
  requires: VariantRequiresSchema.default({}),
  model: ModelFileSchema,
  /** Runtime options that differ for this variant, e.g. execution providers ["tensorrt", "cpu"]. */
  runtime: z
    .object({ executionProviders: z.array(z.string()).min(1) })
    .partial()
    .optional(),
  validation: VariantValidationSchema.optional(),
});
export type ModuleVariant = z.infer<typeof ModuleVariantSchema>;

export const ManifestSchema = z.object({
  schemaVersion: z.literal(MANIFEST_SCHEMA_VERSION),
  name: ModuleNameSchema,
  version: SemverSchema,
  description: z.string().optional(),
  model: ModelFileSchema,
  inputs: z.array(TensorSpecSchema).min(1),
  outputs: z.array(TensorSpecSchema).min(1),
  preprocessing: PreprocessingSchema.default({ kind: "none" }),
  postprocessing: PostprocessingSchema.default({ kind: "raw" }),
  runtime: RuntimeOptionsSchema.default(RuntimeOptionsSchema.parse({})),
  resources: ResourceNeedsSchema.default({}),
  /** Per-profile alternatives to `model`, tried in order; `model` serves devices no variant fits. */
  variants: z.array(ModuleVariantSchema).max(MAX_VARIANTS).optional(),
  /** Where the model came from: model name and version in the hub registry. */
  source: z.object({ model: z.string(), modelVersion: z.number().int().positive() }).optional(),
  /** Drift monitoring: columns, bins and training reference (drift-summary/monitoring.ts). */
  monitoring: MonitoringSchema.optional(),
  createdAt: z.string().datetime({ offset: true }),
});
export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestInput = z.input<typeof ManifestSchema>;

/** Parses and cross-checks a manifest (references between sections must resolve). */
export function parseManifest(value: unknown): Manifest {
  const manifest = ManifestSchema.parse(value);
  const inputNames = new Set(manifest.inputs.map((t) => t.name));
  const outputNames = new Set(manifest.outputs.map((t) => t.name));
  const problems: string[] = [];
  if (manifest.preprocessing.kind === "tabular" && !inputNames.has(manifest.preprocessing.input)) {
    problems.push(`preprocessing.input "${manifest.preprocessing.input}" is not a model input`);
  }
  if (manifest.preprocessing.kind === "image")
    problems.push(...imageProblems(manifest.inputs, manifest.preprocessing));
  const post = manifest.postprocessing;
  if (post.kind !== "raw" && !outputNames.has(post.output)) {
    problems.push(`postprocessing.output "${post.output}" is not a model output`);
  }
  if (post.kind === "raw") {
    for (const [name, axis] of Object.entries(post.batchAxes ?? {})) {
      const output = manifest.outputs.find((t) => t.name === name);
      if (output === undefined)
        problems.push(`postprocessing.batchAxes names "${name}", which is not a model output`);
      else if (axis !== null && axis >= output.shape.length) {
        problems.push(
          `postprocessing.batchAxes.${name} is ${axis} but output "${name}" has rank ${output.shape.length}`,
        );
      }
    }
  }
  if (post.kind === "raw" && post.boxes !== undefined)
    problems.push(...boxesProblems(manifest, post.boxes.output));
  problems.push(...warmupProblems(manifest));
  for (const name of manifest.runtime.missingAsNaN ?? []) {
    const input = manifest.inputs.find((t) => t.name === name);
    if (input === undefined)
      problems.push(`runtime.missingAsNaN names "${name}", which is not a model input`);
    else if (!["FP32", "FP64", "FP16"].includes(input.datatype)) {
      problems.push(`runtime.missingAsNaN: input "${name}" is ${input.datatype}; only float inputs have NaN`);
    }
  }
  problems.push(...variantProblems(manifest));
  if (manifest.monitoring) problems.push(...monitoringProblems(manifest.monitoring, manifest));
  if (problems.length > 0) {
    throw new z.ZodError(problems.map((message) => ({ code: "custom", message, path: [], input: value })));
  }
  return manifest;
}

/** The box output exists and its last axis can hold a box (4 or more values, or dynamic). */
function boxesProblems(manifest: Manifest, name: string): string[] {
  const output = manifest.outputs.find((t) => t.name === name);
  if (output === undefined) return [`postprocessing.boxes.output "${name}" is not a model output`];
  const last = output.shape.at(-1);
  if (output.shape.length < 2 || (last !== undefined && last >= 0 && last < 4)) {
    return [
      `postprocessing.boxes.output "${name}" has shape [${output.shape}]; boxes need a last axis of 4 or more values per box`,
    ];
  }
  if (!["FP32", "FP64", "FP16", "INT32", "INT64"].includes(output.datatype)) {
    return [`postprocessing.boxes.output "${name}" is ${output.datatype}; boxes are numbers`];
  }
  return [];
}

/** Largest warm-up tensor, in elements: a warm-up must not be what runs the device out of memory. */
export const MAX_WARMUP_ELEMENTS = 1 << 26;

/** Each warm-up input names a model input, has its rank and fixed dimensions, and data that fits. */
function warmupProblems(manifest: Manifest): string[] {
  const problems: string[] = [];
  for (const [name, warmup] of Object.entries(manifest.runtime.warmupInputs ?? {})) {
    const field = `runtime.warmupInputs.${name}`;
    const input = manifest.inputs.find((t) => t.name === name);
    if (input === undefined) {
      problems.push(`${field}: "${name}" is not a model input`);
      continue;
    }
    const fits =
      warmup.shape.length === input.shape.length &&
      warmup.shape.every((dim, i) => input.shape[i]! < 0 || input.shape[i] === dim);
    if (!fits) problems.push(`${field}.shape [${warmup.shape}] does not fit input shape [${input.shape}]`);
    const elements = warmup.shape.reduce((a, b) => a * b, 1);
    if (elements > MAX_WARMUP_ELEMENTS)
      problems.push(`${field}.shape has ${elements} elements, over ${MAX_WARMUP_ELEMENTS}`);
    if (warmup.data === undefined) continue;
    if (warmup.data.length !== 1 && warmup.data.length !== elements) {
      problems.push(`${field}.data has ${warmup.data.length} values; give 1 (a fill) or ${elements}`);
    }
    const kind = input.datatype === "BYTES" ? "string" : input.datatype === "BOOL" ? "boolean" : "number";
    if (warmup.data.some((v) => typeof v !== kind && !(kind === "boolean" && (v === 0 || v === 1)))) {
      problems.push(`${field}.data must hold ${kind}s for a ${input.datatype} input`);
    }
    if (input.datatype === "FP16") problems.push(`${field}: FP16 inputs take a shape only (zeros)`);
  }
  return problems;
}

/** Variant names and model files must be unique, and no variant may reuse the base model's file. */
function variantProblems(manifest: Manifest): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  const files = new Set<string>([manifest.model.file]);
  for (const variant of manifest.variants ?? []) {
    if (names.has(variant.name)) problems.push(`variant name "${variant.name}" appears twice`);
    if (files.has(variant.model.file))
      problems.push(`variant "${variant.name}" model file "${variant.model.file}" is used twice`);
    names.add(variant.name);
    files.add(variant.model.file);
  }
  return problems;
}

/** Every model file a module carries: the base model first, then each variant's. */
export function modelFiles(manifest: Manifest): z.infer<typeof ModelFileSchema>[] {
  return [manifest.model, ...(manifest.variants ?? []).map((v) => v.model)];
}

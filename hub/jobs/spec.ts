/**
 * Run submission: the body's shape (zod), then the checks that need the hub (dataset and target
 * exist, recipe fits the task, parameters parse, snapshot and extra rows exist). The stored spec
 * is the body resolved: the dataset version as a full sha256 and every default filled in, so a
 * worker (and the hub's evaluation) never has to guess.
 */
import { z } from "zod";
import { ValidationError } from "../../lib/errors.js";
import { ModuleNameSchema } from "../../modules/manifest.js";
import { AutoParamsSchema } from "../../training/auto.js";
import { COLUMN_OVERRIDES, type ColumnOverride } from "../../training/dataset/schema.js";
import { DEFAULT_SPLIT } from "../../training/dataset/split.js";
import { TrainingError } from "../../training/errors.js";
import { parseParams } from "../../training/trainers/recipes.js";
import type { RecipeName } from "../../training/trainers/types.js";
import { Sha256HexSchema } from "../../wire/messages.js";
import type { BlobStore } from "../blobs/blob-store.js";
import type { Repositories } from "../repos/index.js";
import { AliasNameSchema } from "../repos/models.js";

export const RECIPES = ["logistic", "ridge", "mlp", "gbt", "forest", "auto", "script"] as const;

export const ComputeSchema = z
  .object({
    labels: z.record(z.string().min(1).max(64), z.string().max(256)).optional(),
    gpus: z.number().int().min(0).max(64).optional(),
    minCpus: z.number().positive().max(4096).optional(),
    minMemoryMb: z.number().int().positive().optional(),
  })
  .strict();

export const RunSubmissionSchema = z
  .object({
    experiment: ModuleNameSchema,
    dataset: z.object({ name: ModuleNameSchema, version: z.string().min(1).max(64).optional() }).strict(),
    task: z.enum(["classification", "regression"]),
    target: z.string().min(1).max(256),
    recipe: z.enum(RECIPES),
    params: z.record(z.string(), z.unknown()).optional(),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
    split: z
      .object({ validation: z.number().min(0).max(0.9), test: z.number().gt(0).max(0.9) })
      .strict()
      .refine((s) => s.validation + s.test < 1, "validation + test must leave rows for training")
      .optional(),
    overrides: z.record(z.string().min(1), z.enum(COLUMN_OVERRIDES)).optional(),
    maxCategories: z.number().int().min(1).max(10_000).optional(),
    script: z
      .object({ snapshot: Sha256HexSchema, command: z.string().min(1).max(4096) })
      .strict()
      .optional(),
    compute: ComputeSchema.optional(),
    register: z
      .object({ model: ModuleNameSchema.optional(), aliases: z.array(AliasNameSchema).max(20).optional() })
      .strict()
      .optional(),
    maxAttempts: z.number().int().min(1).max(20).optional(),
    trigger: z
      .object({
        kind: z.enum(["manual", "monitor"]),
        monitorId: z.string().min(1).max(128).optional(),
        /** The retraining cycle that submitted the run (how a resumed cycle finds its run again). */
        cycleId: z.string().min(1).max(128).optional(),
      })
      .strict()
      .optional(),
    extraRows: z.object({ blob: Sha256HexSchema }).strict().optional(),
  })
  .strict();
export type RunSubmission = z.infer<typeof RunSubmissionSchema>;

/** The stored spec: the submission with the dataset version and defaults resolved. */
export type RunSpec = RunSubmission & {
  dataset: { name: string; version: string };
  seed: number;
  split: { validation: number; test: number };
  params: Record<string, unknown>;
  overrides: Record<string, ColumnOverride>;
  register: { model: string; aliases: string[] };
  maxAttempts: number;
  trigger: { kind: "manual" | "monitor"; monitorId?: string; cycleId?: string };
};

const DEFAULT_MAX_ATTEMPTS = 3;

function refuse(message: string, details?: unknown): never {
  throw new ValidationError(message, details);
}

/** Validates a submission against the hub's state and resolves it; nothing is written. */
export async function resolveRunSpec(
  deps: { repos: Pick<Repositories, "datasets">; blobs: BlobStore },
  body: unknown,
): Promise<{ spec: RunSpec; kind: "builtin" | "script" }> {
  const parsed = RunSubmissionSchema.safeParse(body);
  if (!parsed.success) refuse(z.prettifyError(parsed.error), parsed.error.issues);
  const input = parsed.data;

  if ((input.recipe === "script") !== (input.script !== undefined)) {
    refuse(
      input.recipe === "script"
        ? "recipe script needs script: {snapshot, command}"
        : "script is only for recipe script",
    );
  }
  if (input.recipe === "auto") {
    const auto = AutoParamsSchema.safeParse(input.params ?? {});
    if (!auto.success) refuse(`recipe "auto" parameters: ${z.prettifyError(auto.error)}`);
  } else if (input.recipe !== "script") {
    try {
      parseParams(input.recipe as RecipeName, input.task, input.params);
    } catch (error) {
      if (error instanceof TrainingError) refuse(error.message, { code: error.code });
      throw error;
    }
  }

  const ref = input.dataset.version ?? "latest";
  const version = await deps.repos.datasets.resolve(input.dataset.name, ref);
  if (!version) {
    refuse(`dataset ${input.dataset.name} has no version "${ref}"`, { code: "unknown_dataset" });
  }
  const overrides = { ...(version.overrides as RunSpec["overrides"]), ...input.overrides };
  for (const column of Object.keys(input.overrides ?? {})) {
    if (!version.columns.some((c) => c.name === column)) {
      refuse(`override names column "${column}", which the dataset does not have`, {
        code: "unknown_column",
      });
    }
  }
  const target = version.columns.find((c) => c.name === input.target);
  if (!target) {
    refuse(`target column "${input.target}" does not exist in dataset ${input.dataset.name}`, {
      code: "unknown_column",
      columns: version.columns.map((c) => c.name),
    });
  }
  const kind = overrides[input.target] ?? target.kind;
  if (kind === "ignore") {
    refuse(`target "${input.target}" is an ignored column (${target.note ?? "override its kind"})`, {
      code: "bad_target",
    });
  }
  if (input.task === "regression" && kind !== "numeric" && kind !== "boolean") {
    refuse(`a regression target must be numeric; "${input.target}" is ${kind}`, { code: "bad_target" });
  }
  if (input.script && !(await deps.blobs.stat(input.script.snapshot))) {
    refuse(`snapshot ${input.script.snapshot} does not exist; POST /api/v1/snapshots first`, {
      code: "unknown_snapshot",
    });
  }
  if (input.extraRows && !(await deps.blobs.stat(input.extraRows.blob))) {
    refuse(`extra rows blob ${input.extraRows.blob} does not exist`, { code: "unknown_blob" });
  }

  const spec: RunSpec = {
    ...input,
    dataset: { name: input.dataset.name, version: version.version },
    seed: input.seed ?? 1,
    split: input.split ?? { ...DEFAULT_SPLIT },
    params: input.params ?? {},
    overrides,
    register: { model: input.register?.model ?? input.experiment, aliases: input.register?.aliases ?? [] },
    maxAttempts: input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    trigger: input.trigger ?? { kind: "manual" },
  };
  return { spec, kind: input.recipe === "script" ? "script" : "builtin" };
}

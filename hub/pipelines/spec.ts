/**
 * A pipeline spec: which steps run (dataset → train → evaluate → quantize → package → deploy),
 * each optional except for the chain it needs, and how each is set. The shape is checked here
 * with zod, and the chain (a step needs the steps it takes inputs from); checks that need the
 * hub's state (the dataset exists, the run spec resolves) are in validate.ts.
 */
import { z } from "zod";
import { ModuleNameSchema } from "../../modules/manifest.js";
import { QUANTIZABLE_OPS } from "../../modules/onnx/quantize/index.js";
import { STEP_KINDS, type StepKind } from "../db/schema/pipelines.js";
import { TagsSchema } from "../fleet/selector.js";
import { RunSubmissionSchema } from "../jobs/spec.js";
import { RolloutRequestSchema } from "../rollouts/spec.js";

/** `reuse: false` always recomputes the step (Azure ML's allow_reuse); default true. */
const reuse = { reuse: z.boolean().default(true) };

const DatasetStep = z
  .object({ name: ModuleNameSchema, version: z.string().min(1).max(64).default("latest"), ...reuse })
  .strict();

/** The run submission's own fields (one definition, one set of checks), with pipeline defaults. */
const TrainStep = RunSubmissionSchema.pick({
  recipe: true,
  split: true,
  overrides: true,
  maxCategories: true,
  script: true,
  compute: true,
})
  .extend({
    /** Default: the dataset's target and task as uploaded. */
    target: RunSubmissionSchema.shape.target.optional(),
    task: RunSubmissionSchema.shape.task.optional(),
    params: z.record(z.string(), z.unknown()).default({}),
    seed: RunSubmissionSchema.shape.seed.unwrap().default(1),
    /** Registered model name; default: the pipeline's name. */
    model: ModuleNameSchema.optional(),
    ...reuse,
  })
  .strict();

const MetricBounds = z.record(z.string().min(1).max(64), z.number().finite());

const EvaluateStep = z
  .object({
    /** Test metrics (as the hub measured them on the exported model) that must be at least… */
    min: MetricBounds.default({}),
    /** …or at most these values. */
    max: MetricBounds.default({}),
    ...reuse,
  })
  .strict();

const QuantizeStep = z
  .object({
    mode: z.enum(["dynamic", "static"]).default("dynamic"),
    ops: z.array(z.enum(QUANTIZABLE_OPS)).min(1).optional(),
    /** Largest relative loss of the threshold metric int8 may have against float (default 1 %). */
    maxLoss: z.number().min(0).max(1).default(0.01),
    ...reuse,
  })
  .strict();

const PackageStep = z
  .object({
    /** Module name; default: the pipeline's name. */
    module: ModuleNameSchema.optional(),
    /** Ship the quantize step's int8 file as a variant for int8 profiles (needs a quantize step). */
    int8: z.boolean().default(false),
    samples: z
      .object({ allowed: z.boolean(), maxPerWindow: z.number().int().min(1).max(1000).optional() })
      .strict()
      .optional(),
    minRows: z.number().int().min(1).max(1_000_000).optional(),
    ...reuse,
  })
  .strict();

const DeployStep = z
  .object({
    selector: z
      .object({
        deviceIds: z.array(z.string().min(1).max(128)).min(1).max(10_000).optional(),
        tags: TagsSchema.optional(),
      })
      .strict()
      .refine((s) => s.deviceIds !== undefined || s.tags !== undefined, "name deviceIds or tags"),
    canary: RolloutRequestSchema.shape.canary.default({ count: 1 }),
    bakeMs: RolloutRequestSchema.shape.bakeMs,
    gates: RolloutRequestSchema.shape.gates,
    ...reuse,
  })
  .strict();

export const PipelineSpecSchema = z
  .object({
    name: ModuleNameSchema,
    steps: z
      .object({
        dataset: DatasetStep.optional(),
        train: TrainStep.optional(),
        evaluate: EvaluateStep.optional(),
        quantize: QuantizeStep.optional(),
        package: PackageStep.optional(),
        deploy: DeployStep.optional(),
      })
      .strict(),
  })
  .strict();
export type PipelineSpec = z.infer<typeof PipelineSpecSchema>;
export type PipelineSteps = PipelineSpec["steps"];

/** The step each step takes its input from (the chain); dataset starts it. */
export const NEEDS: Record<StepKind, StepKind | null> = {
  dataset: null,
  train: "dataset",
  evaluate: "train",
  quantize: "train",
  package: "train",
  deploy: "package",
};

/** The steps a spec names, in chain order. */
export function stepKinds(steps: PipelineSteps): StepKind[] {
  return STEP_KINDS.filter((kind) => steps[kind] !== undefined);
}

/** What is wrong with the spec's chain, one line per problem (empty when it holds). */
export function chainProblems(steps: PipelineSteps): string[] {
  const kinds = stepKinds(steps);
  const problems: string[] = [];
  if (kinds.length === 0) problems.push("a pipeline needs at least one step");
  for (const kind of kinds) {
    const needed = NEEDS[kind];
    if (needed && steps[needed] === undefined) problems.push(`step ${kind} needs a ${needed} step`);
  }
  if (steps.package?.int8 && !steps.quantize) problems.push("package.int8 needs a quantize step");
  if (steps.train?.recipe === "script" && !steps.train.script)
    problems.push("recipe script needs train.script: {snapshot, command}");
  if (steps.train?.script && steps.train.recipe !== "script")
    problems.push("train.script is only for recipe script");
  return problems;
}

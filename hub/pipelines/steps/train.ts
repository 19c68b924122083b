/**
 * train: one training run through the job service (the same checks and workers as POST /runs),
 * followed until it ends; its output is the model version the hub registered. The inputs are the
 * dataset step's version, the recipe, params, seed, split and the code: the script's snapshot
 * sha256 for script runs, the hub's version for the built-in recipes.
 */
import type { RunSpec } from "../../jobs/spec.js";
import { TERMINAL_RUN_STATUSES } from "../../repos/runs.js";
import { pollUntil } from "../wait.js";
import { type ModelRef, modelStillThere } from "./model-ref.js";
import { type StepContext, type StepDefinition, StepFailure } from "./types.js";

/** The run submission a pipeline's train step makes (also what validation dry-runs). */
export function trainSubmission(
  pipelineName: string,
  train: NonNullable<StepContext["pipeline"]["spec"]["steps"]["train"]>,
  dataset: { name: string; version: string },
  defaults: { target?: string | null; task?: string | null },
): Record<string, unknown> {
  return {
    experiment: pipelineName,
    dataset,
    task: train.task ?? defaults.task ?? undefined,
    target: train.target ?? defaults.target ?? undefined,
    recipe: train.recipe,
    params: train.params,
    seed: train.seed,
    ...(train.split ? { split: train.split } : {}),
    ...(train.overrides ? { overrides: train.overrides } : {}),
    ...(train.maxCategories !== undefined ? { maxCategories: train.maxCategories } : {}),
    ...(train.script ? { script: train.script } : {}),
    ...(train.compute ? { compute: train.compute } : {}),
    register: { model: train.model ?? pipelineName },
  };
}

export const trainStep: StepDefinition = {
  async inputs({ deps, pipeline, outputs }) {
    const train = pipeline.spec.steps.train!;
    const data = outputs.dataset as { name: string; version: string };
    const version = await deps.repos.datasets.resolve(data.name, data.version);
    const submission = trainSubmission(
      pipeline.name,
      train,
      { name: data.name, version: data.version },
      version ?? {},
    );
    const { compute: _compute, experiment: _experiment, ...rest } = submission;
    return {
      ...rest,
      code: train.script ? { snapshot: train.script.snapshot } : { builtin: deps.codeVersion },
    };
  },

  async run(ctx, inputs) {
    const { deps, pipeline, step } = ctx;
    // A run this step started before the hub restarted is followed, not submitted again.
    let runId = step.progress?.runId as string | undefined;
    if (!runId) {
      const { code: _code, ...submission } = inputs;
      const run = await deps.jobs.submit({ ...submission, experiment: pipeline.name });
      runId = String(run.id);
      await ctx.setProgress({ runId });
    }
    const run = await pollUntil(deps.clock, deps.pollMs, ctx.signal, async () => {
      const row = await deps.repos.runs.get(runId);
      if (!row) throw new StepFailure(`run ${runId} no longer exists`);
      return TERMINAL_RUN_STATUSES.includes(row.status) ? row : undefined;
    });
    if (run.status !== "succeeded") {
      throw new StepFailure(`run ${runId} ${run.status}${run.error ? `: ${run.error.message}` : ""}`);
    }
    const registered = run.outputs.model as { name: string; version: number } | undefined;
    if (!registered) throw new StepFailure(`run ${runId} succeeded without a registered model`);
    const version = await deps.repos.models.getVersion(registered.name, registered.version);
    if (!version) throw new StepFailure(`model ${registered.name} version ${registered.version} is gone`);
    const model: ModelRef = { name: version.modelName, version: version.version, sha256: version.sha256 };
    const spec = run.spec as unknown as RunSpec;
    return {
      run: run.id,
      model,
      recipe: spec.recipe,
      metrics: (run.metrics as { test?: unknown }).test ?? {},
    };
  },

  stillThere: (deps, output) => modelStillThere(deps, output.model as ModelRef | undefined),
};

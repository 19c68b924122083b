/** What every pipeline step is: how its inputs are found, how it runs, and whether an old output still stands. */
import type { Clock } from "../../../lib/clock.js";
import type { Logger } from "../../../lib/log.js";
import type { BlobStore } from "../../blobs/blob-store.js";
import type { StepKind } from "../../db/schema/pipelines.js";
import type { JobService } from "../../jobs/service.js";
import type { QuantizationDeps } from "../../quantization/service.js";
import type { Repositories } from "../../repos/index.js";
import type { PipelineStepRow } from "../../repos/pipelines.js";
import type { DeploymentDeps } from "../../services/deployments.js";
import type { PackagingDeps } from "../../services/packaging.js";
import type { PipelineSpec } from "../spec.js";

/** The parts of the hub the steps use. */
export type StepDeps = DeploymentDeps &
  PackagingDeps &
  QuantizationDeps & {
    repos: Pick<
      Repositories,
      "datasets" | "runs" | "models" | "modules" | "devices" | "deployments" | "events" | "pipelines"
    >;
    blobs: BlobStore;
    jobs: Pick<JobService, "submit">;
    clock: Clock;
    log: Logger;
    /** The hub's version: the code of the built-in recipes, part of a train step's inputs. */
    codeVersion: string;
    /** How often a step waiting on a run or a deployment looks again (ms). */
    pollMs: number;
  };

export type StepOutput = Record<string, unknown>;

/** One step's view of its pipeline run. */
export interface StepContext {
  deps: StepDeps;
  pipeline: { id: string; name: string; spec: PipelineSpec };
  /** Outputs of the steps before this one (computed or reused). */
  outputs: Partial<Record<StepKind, StepOutput>>;
  step: PipelineStepRow;
  /** Records what the step started outside the pipeline, so a resumed run adopts it. */
  setProgress(progress: Record<string, unknown>): Promise<void>;
  /** Aborted when the hub closes: the step stops waiting and the run resumes on the next start. */
  signal: AbortSignal;
}

export interface StepDefinition {
  /** The step's inputs: its settings, the upstream outputs it uses, the data and code versions. */
  inputs(ctx: StepContext): Promise<Record<string, unknown>>;
  /** Does the work; throws StepFailure when the step's own check says no. */
  run(ctx: StepContext, inputs: Record<string, unknown>): Promise<StepOutput>;
  /** Whether an earlier output is still there to reuse (the model version, module, deployment). */
  stillThere(deps: StepDeps, output: StepOutput): Promise<boolean>;
}

/** A step's own verdict (a gate not met, a run that failed): the pipeline fails with this message. */
export class StepFailure extends Error {
  override name = "StepFailure";
}

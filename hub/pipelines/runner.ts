/**
 * Runs pipelines on the hub. `submit` validates the spec (nothing is written when it fails), creates
 * the run and its steps in one transaction and runs the steps in chain order in the background.
 * For each step the runner computes its inputs (settings, upstream outputs, data and code versions)
 * and their hash; when the step allows reuse and an earlier step of the same kind and hash computed
 * an output that is still there, the step is `reused` with that step and its pipeline run named and
 * nothing is recomputed. A step that fails marks every later step `skipped` and the run `failed`
 * with the step and the reason. The run is `completed` only when a final read finds every step
 * completed or reused. Runs left running by a hub that stopped are resumed on start: finished steps
 * are kept, a step in flight adopts the training run or deployment it had started.
 */
import type { Logger } from "../../lib/log.js";
import type { StepKind } from "../db/schema/pipelines.js";
import type { PipelineRunWithSteps, PipelineStepRow } from "../repos/pipelines.js";
import { describeError } from "../retraining/retry.js";
import { inputsHash } from "./hash.js";
import { type PipelineSpec, stepKinds } from "./spec.js";
import { STEPS, type StepContext, type StepDeps, type StepOutput } from "./steps/index.js";
import { validatePipelineSpec } from "./validate.js";
import { WaitAborted } from "./wait.js";

export type PipelineDeps = Omit<StepDeps, "pollMs"> & { pollMs?: number };

/** Validates, records and runs pipelines; resumes the ones a stopped hub left running. */
export class PipelineRunner {
  readonly #deps: StepDeps;
  readonly #log: Logger;
  readonly #stopping = new AbortController();
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(deps: PipelineDeps) {
    this.#deps = { ...deps, pollMs: deps.pollMs ?? 500 };
    this.#log = deps.log;
  }

  /** Validates the spec, records the run (400 and nothing written when it is bad) and starts it. */
  async submit(body: unknown, createdBy: string): Promise<PipelineRunWithSteps> {
    const spec = await validatePipelineSpec(this.#deps, body);
    const run = await this.#deps.repos.pipelines.create({
      name: spec.name,
      spec: spec as unknown as Record<string, unknown>,
      kinds: stepKinds(spec.steps),
      createdBy,
    });
    this.#log.info({ event: "pipeline.started", pipeline: run.name, id: run.id, steps: run.steps.length });
    this.#launch(run.id);
    return run;
  }

  /** Resumes the runs a stopped hub left running. */
  async start(): Promise<void> {
    for (const run of await this.#deps.repos.pipelines.running()) {
      this.#log.info({ event: "pipeline.resumed", pipeline: run.name, id: run.id });
      this.#launch(run.id);
    }
  }

  /** Stops waiting steps (their runs stay `running`, resumed on the next start) and waits for them. */
  async close(): Promise<void> {
    this.#stopping.abort();
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  /** Resolves when the run's background execution in this process ended (tests, tools). */
  async settled(id: string): Promise<void> {
    await this.#inFlight.get(id);
  }

  #launch(id: string): void {
    if (this.#inFlight.has(id) || this.#stopping.signal.aborted) return;
    const running = this.#execute(id)
      .catch((error: unknown) => this.#log.error({ event: "pipeline.execute_failed", id, err: error }))
      .finally(() => this.#inFlight.delete(id));
    this.#inFlight.set(id, running);
  }

  async #execute(id: string): Promise<void> {
    const { repos } = this.#deps;
    const run = await repos.pipelines.get(id);
    if (!run || run.status !== "running") return;
    const spec = run.spec as unknown as PipelineSpec;
    const outputs: Partial<Record<StepKind, StepOutput>> = {};
    for (const [index, step] of run.steps.entries()) {
      if (step.status === "completed" || step.status === "reused") {
        outputs[step.kind] = step.output ?? {};
        continue;
      }
      try {
        outputs[step.kind] = await this.#runStep({ id, name: run.name, spec }, step, outputs);
      } catch (error) {
        // The hub is closing: the run stays running and resumes from this step on the next start.
        if (error instanceof WaitAborted || this.#stopping.signal.aborted) return;
        await this.#fail(run, index, describeError(error));
        return;
      }
    }
    // The claim is checked, not assumed: every step must read completed or reused now.
    const final = await repos.pipelines.get(id);
    const unfinished = final?.steps.filter((s) => s.status !== "completed" && s.status !== "reused") ?? [];
    if (unfinished.length > 0) {
      const first = unfinished[0]!;
      await repos.pipelines.finish(id, "failed", {
        step: first.kind,
        error: `step ${first.kind} ended ${first.status}`,
      });
      return;
    }
    await repos.pipelines.finish(id, "completed");
    this.#log.info({
      event: "pipeline.completed",
      pipeline: run.name,
      id,
      reused: final!.steps.filter((s) => s.status === "reused").map((s) => s.kind),
    });
  }

  async #runStep(
    pipeline: StepContext["pipeline"],
    step: PipelineStepRow,
    outputs: Partial<Record<StepKind, StepOutput>>,
  ): Promise<StepOutput> {
    const { repos } = this.#deps;
    const definition = STEPS[step.kind];
    const ctx: StepContext = {
      deps: this.#deps,
      pipeline,
      outputs,
      step,
      signal: this.#stopping.signal,
      setProgress: async (progress) => {
        await repos.pipelines.updateStep(step.id, { status: "running", progress });
        step.progress = progress;
      },
    };
    const inputs = await definition.inputs(ctx);
    const hash = inputsHash(step.kind, inputs);
    const allowReuse = (pipeline.spec.steps[step.kind] as { reuse?: boolean }).reuse !== false;
    // A step resumed mid-way (it has progress) finishes its own work rather than taking another's.
    if (allowReuse && !step.progress) {
      const earlier = await repos.pipelines.reusable(step.kind, hash);
      if (
        earlier &&
        earlier.id !== step.id &&
        earlier.output &&
        (await definition.stillThere(this.#deps, earlier.output))
      ) {
        await repos.pipelines.updateStep(step.id, {
          status: "reused",
          inputsHash: hash,
          inputs,
          output: earlier.output,
          reusedStepId: earlier.id,
          reusedPipelineRunId: earlier.pipelineRunId,
        });
        this.#log.info({
          event: "pipeline.step_reused",
          id: pipeline.id,
          step: step.kind,
          from: earlier.pipelineRunId,
        });
        return earlier.output;
      }
    }
    if (step.status !== "running") {
      await repos.pipelines.updateStep(step.id, { status: "running", inputsHash: hash, inputs });
    }
    const output = await definition.run(ctx, inputs);
    await repos.pipelines.updateStep(step.id, { status: "completed", inputsHash: hash, inputs, output });
    this.#log.info({ event: "pipeline.step_completed", id: pipeline.id, step: step.kind });
    return output;
  }

  /** The step at `index` failed: it says why, every later step is skipped, the run names it. */
  async #fail(run: PipelineRunWithSteps, index: number, message: string): Promise<void> {
    const { repos } = this.#deps;
    const step = run.steps[index]!;
    await repos.pipelines.updateStep(step.id, { status: "failed", error: message });
    for (const later of run.steps.slice(index + 1)) {
      await repos.pipelines.updateStep(later.id, {
        status: "skipped",
        error: `not run: step ${step.kind} failed`,
      });
    }
    await repos.pipelines.finish(run.id, "failed", { step: step.kind, error: message });
    this.#log.warn({
      event: "pipeline.failed",
      pipeline: run.name,
      id: run.id,
      step: step.kind,
      error: message,
    });
  }
}

/** The API shapes of pipeline runs and steps. */
import type { PipelineRunRow, PipelineRunWithSteps, PipelineStepRow } from "../repos/pipelines.js";

/** A step as the API shows it: what it took in, what it gave, what it reused. */
export function stepView(step: PipelineStepRow) {
  return {
    kind: step.kind,
    status: step.status,
    inputsHash: step.inputsHash,
    inputs: step.inputs,
    output: step.output,
    reused:
      step.reusedStepId && step.reusedPipelineRunId
        ? { step: step.reusedStepId, pipelineRun: step.reusedPipelineRunId }
        : null,
    error: step.error,
    startedAt: step.startedAt,
    finishedAt: step.finishedAt,
  };
}

/** A run without its steps (lists). */
export function pipelineSummaryView(run: PipelineRunRow) {
  return {
    id: run.id,
    name: run.name,
    status: run.status,
    failedStep: run.failedStep,
    error: run.error,
    createdBy: run.createdBy,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
  };
}

/** A run with its spec and steps in chain order. */
export function pipelineView(run: PipelineRunWithSteps) {
  return { ...pipelineSummaryView(run), spec: run.spec, steps: run.steps.map(stepView) };
}

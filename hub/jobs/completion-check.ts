/**
 * The hub side of the completion check: finds the run's files (the model, the dataset version,
 * the extra rows) and runs evaluate.ts on them in a worker thread, so the hub keeps answering
 * while it works. Where no thread entry can be started (TypeScript sources without tsx) the same
 * function runs in-process: the result is the same, only the event loop waits.
 */
import { plainError, runThread, type ThreadError, threadEntry } from "../../lib/worker-thread.js";
import type { BlobStore } from "../blobs/blob-store.js";
import type { Repositories } from "../repos/index.js";
import {
  COMPLETION_ERROR_CODES,
  CompletionError,
  type CompletionErrorCode,
  type CompletionResult,
  type Evaluation,
  type EvaluationInput,
  evaluateModel,
} from "./evaluate.js";
import type { RunSpec } from "./spec.js";

/** Thrown when the check was stopped (the hub is closing) before it ended. */
export class CheckStopped extends Error {
  override readonly name = "CheckStopped";
}

/** A refusal keeps its class (and code) across the thread boundary; anything else is a plain Error. */
function revive(error: ThreadError): Error {
  if (error.name === "CompletionError" && COMPLETION_ERROR_CODES.includes(error.code as never)) {
    return new CompletionError(error.code as CompletionErrorCode, error.message, error.details);
  }
  return plainError(error);
}

export interface CompletionCheck {
  evaluation: Evaluation;
  /** Whether it ran in a worker thread (false: in-process fallback). */
  threaded: boolean;
}

/** Checks a run's uploaded model (blob `onnxSha256`); CompletionError when refused, any other error is the hub's. */
export async function checkCompletion(
  deps: { repos: Pick<Repositories, "datasets">; blobs: BlobStore },
  run: { spec: RunSpec; kind: "builtin" | "script" },
  onnxSha256: string,
  result: CompletionResult,
  signal?: AbortSignal,
): Promise<CompletionCheck> {
  const { spec } = run;
  const version = await deps.repos.datasets.resolve(spec.dataset.name, spec.dataset.version);
  if (!version) throw new CompletionError("evaluation", `dataset ${spec.dataset.name} version is gone`);
  const input: EvaluationInput = {
    spec,
    kind: run.kind,
    onnxPath: deps.blobs.path(onnxSha256),
    dataset: { path: deps.blobs.path(spec.dataset.version), format: version.format },
    ...(spec.extraRows ? { extraRowsPath: deps.blobs.path(spec.extraRows.blob) } : {}),
    result,
  };
  const entry = threadEntry(import.meta.url, "evaluate-thread", { fromSources: true });
  if (!entry) return { evaluation: await evaluateModel(input), threaded: false };
  const evaluation = await runThread<Evaluation>(entry, input, {
    ...(signal ? { signal } : {}),
    stopped: () => new CheckStopped("the model check was stopped: the hub is closing"),
    revive,
  });
  return { evaluation, threaded: true };
}

/**
 * Built-in jobs: `train()` from training with the run's spec, progress forwarded as metric
 * points (`trainLoss`, `validationLoss` per iteration; `candidate<k>.<name>` during an auto sweep)
 * and progress. Training runs in a worker thread so the worker stays responsive (heartbeats,
 * cancel: the thread is terminated). Running from TypeScript sources (the test runner) there is no
 * compiled thread entry, so training runs in this thread instead; a cancel then lands between steps.
 */
import { runThread, type ThreadEntry, type ThreadError, threadEntry } from "../lib/worker-thread.js";
import { DatasetError, TrainingError } from "../training/errors.js";
import type { TrainProgress } from "../training/train.js";
import { type BuiltinOutput, trainBuiltin } from "./builtin-train.js";
import type { JobContext, JobOutput } from "./job.js";
import { JobStopped, type StopReason, throwIfStopped } from "./job.js";
import { downloadJobBytes } from "./job-data.js";
import type { AttemptReporter } from "./reporter.js";

/** The training thread's entry: the compiled build only (from sources, training runs in-process). */
function builtinThread(): ThreadEntry | null {
  return threadEntry(import.meta.url, "builtin-thread");
}

/** Whether built-in training runs in a worker thread here (the compiled build) or in-process. */
export function builtinRunsInThread(): boolean {
  return builtinThread() !== null;
}

/** Forwards train() progress to the reporter. */
export function progressForwarder(reporter: AttemptReporter): (event: TrainProgress) => void {
  let candidates = 0;
  return (event) => {
    if (event.kind === "phase") {
      reporter.log("system", `phase: ${event.phase}`);
      return;
    }
    if (event.kind === "candidate") {
      candidates = event.of;
      reporter.log("system", `candidate ${event.candidate + 1}/${event.of}: ${event.recipe}`);
      return;
    }
    const prefix = event.candidate !== undefined ? `candidate${event.candidate}.` : "";
    for (const [name, value] of Object.entries(event.metrics))
      reporter.metric(`${prefix}${name}`, value, event.iteration);
    reporter.progress({
      iteration: event.iteration,
      of: event.of,
      phase:
        event.candidate !== undefined
          ? `${event.recipe} (candidate ${event.candidate + 1}/${candidates})`
          : event.recipe,
    });
  };
}

/** Rebuilds the training library's errors from a thread's message, so failures classify the same. */
function errorFromThread(error: ThreadError): Error {
  if (error.name === "DatasetError")
    return new DatasetError(error.code as never, error.message, error.details as never);
  if (error.name === "TrainingError") return new TrainingError(error.code as never, error.message);
  return new Error(error.message);
}

function trainInThread(
  entry: ThreadEntry,
  input: Parameters<typeof trainBuiltin>[0],
  onProgress: (e: TrainProgress) => void,
  signal: AbortSignal,
) {
  return runThread<BuiltinOutput, TrainProgress>(entry, input, {
    onProgress,
    signal,
    stopped: (reason) => new JobStopped(reason as StopReason),
    revive: errorFromThread,
  });
}

/** Runs a built-in recipe to its model and result. */
export async function runBuiltinJob(context: JobContext): Promise<JobOutput> {
  const { claim, api, reporter, signal } = context;
  reporter.log("system", `downloading dataset ${claim.dataset.name}@${claim.dataset.version.slice(0, 12)}`);
  const data = await downloadJobBytes(claim, api, signal);
  throwIfStopped(signal);
  reporter.log(
    "system",
    `dataset: ${data.bytes.byteLength} bytes${data.extraRows ? ` + ${data.extraRows.byteLength} bytes of extra rows` : ""}; recipe ${claim.spec.recipe}, seed ${claim.spec.seed ?? 1}`,
  );
  const input = { ...data, spec: claim.spec };
  const onProgress = progressForwarder(reporter);
  const thread = builtinThread();
  reporter.log(
    "system",
    thread ? "training in a worker thread" : "training in-process (no compiled thread entry)",
  );
  if (thread) return trainInThread(thread, input, onProgress, signal);
  return trainBuiltin(input, (event) => {
    // In-process: the only chance to stop is between progress events.
    throwIfStopped(signal);
    onProgress(event);
  });
}

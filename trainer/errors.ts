/**
 * How a failed attempt is reported: deterministic failures (the data, the parameters, the script)
 * are not retried because another attempt would fail the same way; infrastructure failures (the
 * hub unreachable, a crash, the disk) are, up to the run's maxAttempts.
 */

import { HubApiError } from "../hub-api/client.js";
import type { FailBody } from "../hub-api/training.js";
import { DatasetError, TrainingError } from "../training/errors.js";

export type ScriptErrorCode =
  | "bad_snapshot"
  | "script_failed"
  | "script_killed"
  | "no_model"
  | "bad_predictions"
  | "model_too_large"
  /** A root worker with no unprivileged user to run scripts as (script-user.ts). */
  | "unsafe_script_user";

/** A script job that failed in a way the worker can name. */
export class ScriptError extends Error {
  override readonly name = "ScriptError";
  constructor(
    readonly code: ScriptErrorCode,
    message: string,
    /** True when a retry could pass (e.g. the process was killed by a signal, perhaps out of memory). */
    readonly retryable = false,
  ) {
    super(message);
  }
}

/** The fail body for an error thrown while running an attempt. */
export function failureOf(error: unknown): FailBody {
  if (error instanceof DatasetError) {
    return { error: { code: "bad_dataset", message: `${error.code}: ${error.message}` }, retryable: false };
  }
  if (error instanceof TrainingError) {
    return { error: { code: error.code, message: error.message }, retryable: false };
  }
  if (error instanceof ScriptError) {
    return { error: { code: error.code, message: error.message }, retryable: error.retryable };
  }
  if (error instanceof HubApiError) {
    // A 404 on the dataset or snapshot will not appear by retrying; an unreachable hub may come back.
    return { error: { code: `hub_${error.code}`, message: error.message }, retryable: error.transient };
  }
  const message = (error as Error)?.message ?? String(error);
  return { error: { code: "worker_error", message }, retryable: true };
}

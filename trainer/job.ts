/** What every job kind gets from the worker, and what it hands back. */

import type { TrainerHubApi } from "../hub-api/trainer-api.js";
import type { Claim, GpuInfo } from "../hub-api/training.js";
import type { Logger } from "../lib/log.js";
import type { AttemptReporter } from "./reporter.js";
import type { ScriptIdentity } from "./script-user.js";

export interface JobContext {
  claim: Claim;
  api: TrainerHubApi;
  reporter: AttemptReporter;
  /** Aborted on cancel, lease loss or worker shutdown; `signal.reason` is a StopReason. */
  signal: AbortSignal;
  /** A fresh folder for this attempt, removed afterwards. */
  workDir: string;
  /** The hub URL the worker uses (script jobs pass it on with the claim's attempt token). */
  hubUrl: string;
  /** Who runs script jobs (see script-user.ts). */
  scriptIdentity: ScriptIdentity;
  /** The GPUs this attempt holds (as many as its run asked for) and how many the worker has. */
  gpus: { held: readonly GpuInfo[]; worker: number };
  log: Logger;
}

export interface JobOutput {
  onnx: Uint8Array;
  /** The `result` of the complete call (metrics, features, classes, ...). */
  result: Record<string, unknown>;
}

export type StopReason = "cancelled" | "lease_lost" | "shutdown";

/** Thrown by a job that stopped because its signal fired. */
export class JobStopped extends Error {
  override readonly name = "JobStopped";
  constructor(readonly reason: StopReason) {
    super(`job stopped: ${reason}`);
  }
}

/** Throws JobStopped when the attempt has been told to stop. */
export function throwIfStopped(signal: AbortSignal): void {
  if (signal.aborted) throw new JobStopped(signal.reason as StopReason);
}

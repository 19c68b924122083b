/**
 * Run and attempt statuses, apart from the worker protocol's zod schemas in training.ts (which
 * re-exports them), so that the CLI can name them without loading zod.
 */
export const RUN_STATUSES = ["queued", "running", "succeeded", "failed", "cancelling", "cancelled"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** Statuses a run never leaves. */
export const TERMINAL_RUN_STATUSES: ReadonlySet<string> = new Set<RunStatus>([
  "succeeded",
  "failed",
  "cancelled",
]);

export const ATTEMPT_STATUSES = ["running", "succeeded", "failed", "lost", "cancelled"] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];

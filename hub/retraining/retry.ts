/**
 * What a step's error does to a cycle. A verdict (the step decided the cycle cannot go on, or the
 * hub refused what the step asked: a permanent domain error, such as a validation, not-found or
 * conflict error) ends it `failed` at once. Anything else (a database or I/O error thrown on the way) is taken as
 * transient: the step runs again after a backoff that grows fourfold with each failure (one driver
 * tick, then 4, 16, ... ticks, capped), and only `max` failures of the same step in a row end the
 * cycle, so a database restart of a few minutes does not fail a cycle that had trained for hours. The count lives in the cycle's state next to the status it belongs to,
 * so a step that moves the cycle on leaves a stale count behind that the next step ignores.
 */
import { isTransient } from "../../lib/errors.js";
import type { CycleStatus } from "../repos/retraining.js";

/** A step's deliberate outcome: the cycle cannot go on (ends `failed` without retrying). */
export class CycleFailure extends Error {
  override readonly name = "CycleFailure";
  /** Retrying the step cannot change the outcome. */
  readonly transient = false;
}

/** Consecutive transient failures of one step before the cycle ends failed. */
export const DEFAULT_MAX_TRANSIENT_FAILURES = 5;

/** Longest wait before a step is retried. */
export const MAX_RETRY_BACKOFF_MS = 10 * 60_000;

/** The transient failures counted so far (cycle state `transient`). */
export interface TransientCount {
  status: string;
  failures: number;
  /** When the step may run again (ISO time); absent on counts written before backoff existed. */
  retryAt?: string;
}

/** Wait before the retry that follows the `failures`-th failure in a row. */
export function retryBackoffMs(failures: number, baseMs: number): number {
  return Math.min(MAX_RETRY_BACKOFF_MS, baseMs * 4 ** Math.max(0, failures - 1));
}

/** Whether a cycle in `status` must still wait before its step runs again. */
export function waitingToRetry(
  status: string,
  transient: TransientCount | null | undefined,
  now: Date,
): boolean {
  return (
    transient?.status === status &&
    transient.retryAt !== undefined &&
    Date.parse(transient.retryAt) > now.getTime()
  );
}

export type ErrorDecision =
  | { kind: "fail"; message: string }
  | { kind: "retry"; failures: number; message: string };

/**
 * True for an error that is a verdict rather than a hiccup: one that says retrying cannot help
 * (lib/errors.ts; a CycleFailure, or a domain error such as a refused input, a missing or
 * conflicting thing). Errors that do not say (a database or I/O error) are hiccups.
 */
export function isVerdict(error: unknown): boolean {
  return !isTransient(error, true);
}

/** Decides between retrying the step of a cycle in `status` and failing the cycle. */
export function decideOnError(
  error: unknown,
  status: string,
  previous: TransientCount | null | undefined,
  max = DEFAULT_MAX_TRANSIENT_FAILURES,
): ErrorDecision {
  const message = describeError(error);
  if (isVerdict(error)) return { kind: "fail", message };
  const failures = (previous?.status === status ? previous.failures : 0) + 1;
  if (failures >= max) return { kind: "fail", message: `${message} (${failures} failures in a row)` };
  return { kind: "retry", failures, message };
}

/**
 * An error's message with its causes (`a: b: c`), where a failed database query reads "database
 * query failed" instead of the statement and its parameters (long, and not what went wrong).
 */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && parts.length < 5; e = (e as { cause?: unknown }).cause) {
    if (!(e instanceof Error)) {
      parts.push(String(e));
      break;
    }
    parts.push(e.message.startsWith("Failed query:") ? "database query failed" : e.message);
  }
  return parts.join(": ");
}

/**
 * The step that clears a count once the step of `status` went through again without moving the
 * cycle on (it still reads `statusNow`), so failures are counted in a row; null when there is no
 * count of this status, or the cycle moved on (the count then belongs to the old status, which
 * the next step ignores).
 */
export function recoveryOf(
  status: string,
  transient: TransientCount | null | undefined,
  statusNow: string | undefined,
): { status: CycleStatus; state: { transient: null }; step: string; message: string } | null {
  if (!transient || transient.status !== status || statusNow !== status) return null;
  return {
    status: status as CycleStatus,
    state: { transient: null },
    step: `${status}-recovered`,
    message: `the step went through again after ${transient.failures} transient failure(s)`,
  };
}

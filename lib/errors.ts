/**
 * The one error vocabulary below the protocol edges, shared by the hub, the agent and the trainer.
 * A domain error carries a code that says what went wrong (the same code for the same meaning on
 * every edge that speaks JSON) and whether trying the same thing again can succeed: `transient`
 * (the network, a restart, a busy peer) or not (the input, the state or the data says no). Only
 * the edges turn codes into statuses (hub/http/errors.ts, agent/http/errors.ts), by code, never by
 * class name; retry loops ask `isTransient`.
 */

/** What went wrong, as every JSON edge names it. */
export const DOMAIN_ERROR_CODES = [
  /** The input is malformed or contradicts itself; nothing was written. */
  "bad_request",
  /** An uploaded model is not a valid ONNX file. */
  "invalid_model",
  /** A dataset cannot be read or refuses the asked spec. */
  "bad_dataset",
  /** A referenced thing (device, model, module, run, …) does not exist. */
  "not_found",
  /** The request contradicts what is already there (a duplicate, a wrong state). */
  "conflict",
  /** A worker's attempt is no longer its own (lease run out, cancelled, finished). */
  "lease_lost",
  /** Something is too big to take. */
  "payload_too_large",
  /** A part is not there right now; later may work. */
  "unavailable",
] as const;
export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];

export interface DomainErrorOptions {
  /** Structured detail for the caller (validation issues, the unknown ids, …). */
  details?: unknown;
  /** Whether the same operation may succeed later; default false (permanent). */
  transient?: boolean;
  cause?: unknown;
}

/** An error the domain raises on purpose: a code, a message for people, and whether a retry can help. */
export class DomainError extends Error {
  override name = "DomainError";
  readonly code: DomainErrorCode;
  readonly transient: boolean;
  readonly details?: unknown;

  constructor(code: DomainErrorCode, message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.transient = options.transient ?? false;
    if (options.details !== undefined) this.details = options.details;
  }
}

/** The input was malformed; nothing was written. */
export class ValidationError extends DomainError {
  override name = "ValidationError";
  constructor(message: string, details?: unknown) {
    super("bad_request", message, { details });
  }
}

/** A referenced row (device, model, module, …) does not exist. */
export class NotFoundError extends DomainError {
  override name = "NotFoundError";
  constructor(
    readonly entity: string,
    readonly key: string,
    message = `${entity} ${JSON.stringify(key)} not found`,
  ) {
    super("not_found", message);
  }
}

/** The write would duplicate a unique key, or the thing is in a state that forbids it. */
export class ConflictError extends DomainError {
  override name = "ConflictError";
  constructor(
    readonly entity: string,
    readonly key: string,
    message = `${entity} ${JSON.stringify(key)} already exists`,
  ) {
    super("conflict", message);
  }
}

/** A worker's call names an attempt that is no longer the run's current running one: it must stop. */
export class LeaseLostError extends DomainError {
  override name = "LeaseLostError";
  constructor(
    message: string,
    /** The attempt, where the side that raised it knows it. */
    readonly attempt?: { runId: string; attempt: number },
  ) {
    super("lease_lost", message);
  }
}

/** The value, or a NotFoundError saying `${what} does not exist`. */
export function found<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new NotFoundError(what, what, `${what} does not exist`);
  return value;
}

/**
 * Whether retrying can help: a domain error's own say (or any error's boolean `transient`), and
 * `otherwise` for errors that do not say (a database or I/O error on the way, for most callers).
 */
export function isTransient(error: unknown, otherwise: boolean): boolean {
  const transient = (error as { transient?: unknown } | null | undefined)?.transient;
  return typeof transient === "boolean" ? transient : otherwise;
}

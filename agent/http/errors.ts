/**
 * The scoring server's one error vocabulary: a code maps to an HTTP status. Friendly routes
 * (`/v1/...`) answer `{"error": {"code", "message"}}` like the hub API; Open Inference Protocol
 * routes (`/v2...`) answer `{"error": "message"}` because that is what OIP clients parse
 * (Open Inference Protocol v2, "Errors": `{"error": "message"}`). One onError picks the shape by path.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "../../lib/log.js";
import { ImageInputError, type ImageRefusal } from "../../modules/image-preprocess.js";
import { InputError, PostprocessError } from "../../modules/index.js";
import { ModuleUnavailableError } from "../runtime/loaded-module.js";
import { InferenceTimeoutError, OverloadedError } from "../runtime/runtime-errors.js";
import { TensorInputError } from "../runtime/tensor-json.js";

export const ERROR_STATUS = {
  invalid_input: 400,
  /** A known model asked for at a version this agent does not serve (OIP model-ready says 400). */
  version_not_served: 400,
  not_found: 404,
  method_not_allowed: 405,
  /** The request contradicts what the agent already holds (feedback sent twice for one prediction). */
  conflict: 409,
  payload_too_large: 413,
  /** A body the route cannot read: an image format not taken, or an image sent to a non-image module. */
  unsupported_media_type: 415,
  /** The module's queue is full: retry after the Retry-After header (OIP routes answer 503). */
  overloaded: 429,
  unavailable: 503,
  /** The request's deadline passed while it waited or ran. */
  timeout: 504,
  internal: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** An error the server reports as is; anything else becomes a 500 with a generic message. */
export class ScoringError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra structured detail for friendly routes (e.g. each bad row and feature); OIP drops it. */
    readonly details?: unknown,
    /** Sent as the Retry-After header (seconds). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "ScoringError";
  }

  get status(): ContentfulStatusCode {
    return ERROR_STATUS[this.code];
  }
}

/** True for paths that follow the Open Inference Protocol's error shape. */
export function isOipPath(path: string): boolean {
  return path === "/v2" || path.startsWith("/v2/");
}

/** Writes an error in the shape the request's route family uses. */
export function errorResponse(c: Context, error: ScoringError): Response {
  if (error.retryAfterSeconds !== undefined) c.header("Retry-After", String(error.retryAfterSeconds));
  if (isOipPath(c.req.path)) {
    // OIP/KServe clients read 503 as "not ready now, retry"; 429 is the friendly routes' signal.
    const status = error.code === "overloaded" ? 503 : error.status;
    return c.json({ error: error.message }, status);
  }
  const body =
    error.details === undefined
      ? { code: error.code, message: error.message }
      : { code: error.code, message: error.message, details: error.details };
  return c.json({ error: body }, error.status);
}

const IMAGE_REFUSALS: Record<ImageRefusal, ErrorCode> = {
  unsupported: "unsupported_media_type",
  too_large: "payload_too_large",
  invalid: "invalid_input",
};

/** Maps domain errors onto the vocabulary; undefined for unexpected ones. */
export function toScoringError(error: unknown): ScoringError | undefined {
  if (error instanceof ScoringError) return error;
  if (error instanceof TensorInputError) return new ScoringError("invalid_input", error.message);
  if (error instanceof ImageInputError) return new ScoringError(IMAGE_REFUSALS[error.reason], error.message);
  if (error instanceof InputError) return new ScoringError("invalid_input", error.message, error.details);
  // The outputs do not fit the manifest's postprocessing: a packaging fault, but say what it is.
  if (error instanceof PostprocessError) {
    return new ScoringError("internal", `postprocessing failed: ${error.message}`);
  }
  if (error instanceof ModuleUnavailableError) return new ScoringError("unavailable", error.message);
  if (error instanceof OverloadedError) {
    return new ScoringError("overloaded", error.message, undefined, error.retryAfterSeconds);
  }
  if (error instanceof InferenceTimeoutError) return new ScoringError("timeout", error.message);
  if (error instanceof HTTPException && error.status === 413) {
    return new ScoringError("payload_too_large", "request body is too large");
  }
  return undefined;
}

/** The app's single onError: known errors keep their code, the rest are logged and hidden. */
export function handleError(log: Logger) {
  return function onError(error: Error, c: Context): Response {
    const known = toScoringError(error);
    if (known) return errorResponse(c, known);
    log.error({ event: "http.error", err: error, path: c.req.path }, "unhandled error");
    return errorResponse(c, new ScoringError("internal", "internal error; see the agent log"));
  };
}

/** The app's notFound: unknown paths answer in the same shapes. */
export function handleNotFound(c: Context): Response {
  return errorResponse(c, new ScoringError("not_found", `no route for ${c.req.method} ${c.req.path}`));
}

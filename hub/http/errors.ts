/**
 * The hub API's code table: each error code maps to an HTTP status, and every error leaves as
 * `{"error": {"code", "message", "details"?}}`. Domain errors (lib/errors.ts) are mapped by their
 * code; ApiError is for what only HTTP knows (credentials, roles, ranges, media types).
 * The code table is documented in hub/http/README.md.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ZodError, z } from "zod";
import { DomainError, type DomainErrorCode } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";

export const ERROR_STATUS = {
  bad_request: 400,
  invalid_model: 400,
  bad_dataset: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  lease_lost: 409,
  payload_too_large: 413,
  idempotency_key_reused: 422,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  too_many_requests: 429,
  unavailable: 503,
  internal: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Every domain error code has its status here (a compile-time check). */
const DOMAIN_STATUS: Record<DomainErrorCode, ContentfulStatusCode> = ERROR_STATUS;
void DOMAIN_STATUS;

/** An error the API reports as is; anything else becomes a 500 with a generic message. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export const ErrorBodySchema = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  })
  .meta({ id: "Error" });

/** Writes an error response in the API's shape. */
export function errorResponse(c: Context, code: ErrorCode, message: string, details?: unknown): Response {
  const body = details === undefined ? { error: { code, message } } : { error: { code, message, details } };
  return c.json(body, ERROR_STATUS[code]);
}

/** Turns domain errors and validation failures into API errors, by type and code; used by the single onError. */
export function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof DomainError) return new ApiError(error.code, error.message, error.details);
  if (error instanceof ZodError) {
    return new ApiError("bad_request", z.prettifyError(error), error.issues);
  }
  return undefined;
}

/**
 * A PostgreSQL data exception (SQLSTATE class 22: a number out of its column's range, text it
 * cannot store, a malformed value) found in an error or its causes. The edges refuse such input
 * before it reaches a statement; this is the net under them, so a value the checks missed is the
 * caller's 400 and not the hub's 500. Statements run in transactions, so nothing was written.
 */
function dataException(error: unknown): { code: string; message: string } | undefined {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^22[0-9A-Z]{3}$/.test(code)) {
      return { code, message: String((e as { message?: unknown }).message ?? "") };
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The value, or a not_found error when a repository found nothing. */
export { found } from "../../lib/errors.js";

/** The app's onError: known errors keep their code, the rest are logged and hidden. */
export function handleError(log: Logger) {
  return function onError(error: Error, c: Context): Response {
    const known = toApiError(error);
    if (known) return errorResponse(c, known.code, known.message, known.details);
    const data = dataException(error);
    if (data) {
      log.warn({
        event: "http.data-exception",
        sqlstate: data.code,
        path: c.req.path,
        message: data.message,
      });
      return errorResponse(c, "bad_request", `a value cannot be stored: ${data.message}`, {
        sqlstate: data.code,
      });
    }
    const status = (error as { status?: number }).status;
    if (status === 413) return errorResponse(c, "payload_too_large", error.message);
    if (typeof status === "number" && status >= 400 && status < 500) {
      return errorResponse(c, "bad_request", error.message);
    }
    log.error({ event: "http.error", err: error, path: c.req.path }, "unhandled error");
    return errorResponse(c, "internal", "internal error; see the hub log");
  };
}

/** Typed store errors and SQLSTATE checks; the HTTP layer maps the errors to 400/404/409 by code. */

// The store's errors are the shared domain errors (lib/errors.ts): the HTTP edge maps them by code.
export { ConflictError, NotFoundError, ValidationError } from "../../lib/errors.js";

const UNIQUE_VIOLATION = "23505";
const FOREIGN_KEY_VIOLATION = "23503";

/** PostgreSQL SQLSTATE of an error from either driver (drizzle wraps the driver error in `cause`). */
export function sqlState(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when the error is a unique-constraint violation. */
export function isUniqueViolation(error: unknown): boolean {
  return sqlState(error) === UNIQUE_VIOLATION;
}

/** True when the error is a foreign-key violation. */
export function isForeignKeyViolation(error: unknown): boolean {
  return sqlState(error) === FOREIGN_KEY_VIOLATION;
}

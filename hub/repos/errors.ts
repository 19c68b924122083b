/** Typed store errors; the HTTP layer maps them to 400/404/409 without parsing messages. */

/** A referenced row (device, model, module, …) does not exist. */
export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
  constructor(
    readonly entity: string,
    readonly key: string,
  ) {
    super(`${entity} ${JSON.stringify(key)} not found`);
  }
}

/** The write would duplicate a unique key (device id, module name+version, …). */
export class ConflictError extends Error {
  override readonly name = "ConflictError";
  constructor(
    readonly entity: string,
    readonly key: string,
    message?: string,
  ) {
    super(message ?? `${entity} ${JSON.stringify(key)} already exists`);
  }
}

/** The input was malformed; nothing was written. */
export class ValidationError extends Error {
  override readonly name = "ValidationError";
  constructor(
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

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

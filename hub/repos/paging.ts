/** Page sizes for list queries: bounded so a careless caller cannot pull a whole table. */
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** A page size between 1 and MAX_LIMIT, `fallback` when not given. */
export function clampLimit(limit: number | undefined, fallback = DEFAULT_LIMIT): number {
  if (limit === undefined || !Number.isFinite(limit)) return fallback;
  return Math.min(MAX_LIMIT, Math.max(1, Math.floor(limit)));
}

/**
 * The `Idempotency-Key` contract between the hub and its clients: which POSTs honour the header,
 * and which failures a client may retry with the same key (the first try may have been done, and
 * the key makes sure it is not done twice).
 */

/** The header, as clients send it. */
export const IDEMPOTENCY_HEADER = "Idempotency-Key";

/** The creating POSTs that honour the header (concrete paths under the hub URL). */
export const IDEMPOTENT_POST_PATHS: ReadonlySet<string> = new Set(
  ["deployments", "modules", "runs", "devices", "pipelines"].map((what) => `/api/v1/${what}`),
);

/**
 * Whether a keyed POST that ended with this status may be sent again with the same key: no answer
 * (0: the connection was cut, so it may have been done), a gateway or a starting hub (502, 503,
 * 504), or 409 with `details.state: "running"` (the key is still held by the first try).
 */
export function retryableWithKey(status: number, details: unknown): boolean {
  if (status === 0 || status === 502 || status === 503 || status === 504) return true;
  return status === 409 && (details as { state?: unknown } | undefined)?.state === "running";
}

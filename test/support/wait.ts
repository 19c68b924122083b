/** Polling until a condition holds, with the last observed value in the timeout message. */

/**
 * Calls `probe` until it returns a truthy value or the timeout passes. `what` may be a function so
 * the message shows state at the timeout (a process's output), not at the start.
 */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${typeof what === "function" ? what() : what}${lastError ? ` (last error: ${(lastError as Error).message})` : ""}`,
  );
}

/** GETs JSON, or undefined when the server does not answer 200. */
export async function getJson<T>(url: string): Promise<T | undefined> {
  const response = await fetch(url).catch(() => undefined);
  if (!response?.ok) return undefined;
  return (await response.json()) as T;
}

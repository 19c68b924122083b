/** Polling on the hub's clock until a condition holds or the pipeline's signal aborts. */
import type { Clock } from "../../lib/clock.js";

/** The error a step's wait ends with when the hub closes under it. */
export class WaitAborted extends Error {
  override name = "WaitAborted";
}

/** Calls `probe` every `everyMs` until it returns a value (not undefined). */
export async function pollUntil<T>(
  clock: Clock,
  everyMs: number,
  signal: AbortSignal,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  for (;;) {
    if (signal.aborted) throw new WaitAborted("the hub is closing");
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise<void>((resolve) => {
      const timer = clock.setTimer(everyMs, () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
      const onAbort = () => {
        timer.cancel();
        resolve();
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

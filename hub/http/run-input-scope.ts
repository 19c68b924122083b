/**
 * What a trainer token or a script attempt's token may download: a script attempt only its own
 * run's inputs (dataset version, script snapshot, extra rows), a trainer worker only the inputs of
 * runs that have a working attempt. Operators (viewer upwards) read any blob, as before.
 */
import type { AttemptTokenRepo } from "../repos/attempt-tokens.js";
import type { Principal } from "./auth.js";
import { ApiError } from "./errors.js";

/**
 * Throws 403 when a trainer or attempt principal asks for a blob outside its runs' inputs; does
 * nothing for any other principal (their role was checked by the route's middleware).
 */
export async function assertRunInputReadable(
  principal: Principal | undefined,
  sha256: string,
  attemptTokens: Pick<AttemptTokenRepo, "inputsOf" | "activeInputs">,
): Promise<void> {
  if (principal?.kind === "attempt") {
    if ((await attemptTokens.inputsOf(principal.runId)).has(sha256)) return;
    throw new ApiError(
      "forbidden",
      `this token belongs to run ${principal.runId} attempt ${principal.attempt}: it may read only that run's inputs`,
    );
  }
  if (principal?.kind === "operator" && principal.role === "trainer") {
    if ((await attemptTokens.activeInputs()).has(sha256)) return;
    throw new ApiError("forbidden", "a trainer token may read only the inputs of runs being trained");
  }
}

/** Bad input to the drift statistics (mismatched bins, negative counts): the caller's mistake, never retried. */
export class DriftInputError extends Error {
  override name = "DriftInputError";
}

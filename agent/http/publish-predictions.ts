/**
 * Turns one scored request into prediction records (one per row, keyed by the ids the client got
 * back) and publishes them to the agent's prediction log, for feedback and live listeners.
 */
import type { PredictionLog } from "../runtime/prediction-log.js";

/** The parts of a score answer a record is made of. */
export interface ScoredRequest {
  module: string;
  version: string;
  /** One per id; undefined (or an undefined entry) publishes that row without a prediction (OIP). */
  predictions?: readonly unknown[];
  predictionIds: readonly string[];
}

/**
 * Publishes each row of a scored request. `inputs` is the request's rows (tabular: row i goes with
 * prediction i) or one summary shared by every row (tensors, images); undefined publishes none.
 */
export function publishScored(
  log: PredictionLog | undefined,
  scored: ScoredRequest,
  inputs?: readonly unknown[] | { shared: unknown },
): void {
  if (log === undefined) return;
  const at = new Date().toISOString();
  log.publish(
    scored.predictionIds.map((id, i) => {
      const rowInputs = inputs === undefined ? undefined : "shared" in inputs ? inputs.shared : inputs[i];
      const prediction = scored.predictions?.[i];
      return {
        id,
        module: scored.module,
        version: scored.version,
        ...(prediction === undefined ? {} : { prediction }),
        ...(rowInputs === undefined ? {} : { inputs: rowInputs }),
        at,
      };
    }),
  );
}

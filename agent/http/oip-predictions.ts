/**
 * Prediction ids and predictions for Open Inference Protocol `infer` rows, so feedback, the
 * predictions stream and drift samples see OIP traffic like the friendly score route's.
 *
 * Ids are always random UUIDs, never derived from the request's `id`: that id is the client's
 * (retries and different clients reuse it), so `${id}:${row}` could collide with a prediction the
 * log still holds and join a label to the wrong row.
 */
import { randomUUID } from "node:crypto";
import {
  type OutputTensor,
  PostprocessError,
  type Postprocessing,
  postprocess,
} from "../../modules/index.js";
import { MAX_INSTANCES } from "./routes/score-schemas.js";

/**
 * Most rows per request that get ids: the friendly route's batch limit. A bigger batch would grow
 * the answer by ~40 bytes a row and push the whole feedback log out; it gets no ids (as before).
 */
export const MAX_ID_ROWS = MAX_INSTANCES;

/** Values per row past which a `raw` prediction is not kept: the client has the tensors already. */
export const MAX_RAW_VALUES_PER_ROW = 64;

/** One random id per row, or undefined when the batch is empty or over `MAX_ID_ROWS`. */
export function predictionIdsFor(rows: number): string[] | undefined {
  if (!Number.isSafeInteger(rows) || rows < 1 || rows > MAX_ID_ROWS) return undefined;
  const ids = new Array<string>(rows);
  for (let r = 0; r < rows; r++) ids[r] = randomUUID();
  return ids;
}

/**
 * The module's postprocessed prediction (`spec`: its manifest's postprocessing) per row, computed from the outputs the request got back,
 * or undefined when they do not allow it: the output postprocessing reads was not selected, a
 * `raw` row is bigger than `MAX_RAW_VALUES_PER_ROW`, or the outputs do not fit the postprocessing.
 * Never throws for those: the OIP answer does not depend on it.
 */
export function oipPredictions(
  spec: Postprocessing,
  outputs: Readonly<Record<string, OutputTensor>>,
  rows: number,
): unknown[] | undefined {
  if (spec.kind === "raw") {
    let values = 0;
    for (const name in outputs) values += outputs[name]!.data.length;
    if (values > MAX_RAW_VALUES_PER_ROW * rows) return undefined;
  } else if (outputs[spec.output] === undefined) {
    return undefined;
  }
  try {
    return postprocess(spec, outputs, rows);
  } catch (error) {
    if (error instanceof PostprocessError) return undefined;
    throw error;
  }
}

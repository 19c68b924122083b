/**
 * The training library's refusals. Each carries a stable `code` so the job runner can map it to a
 * run failure reason (and the HTTP layer to a 400) without parsing messages.
 */

/** Why a dataset was refused. */
export type DatasetErrorCode =
  | "empty"
  | "format"
  | "ragged"
  | "too_large"
  | "bad_value"
  | "unknown_column"
  | "bad_target";

/** A dataset that cannot be used as given; nothing was kept from it. */
export class DatasetError extends Error {
  override readonly name = "DatasetError";

  /** `details` holds positions (row, column) only, never cell contents beyond a short excerpt. */
  constructor(
    readonly code: DatasetErrorCode,
    message: string,
    readonly details?: { row?: number; column?: string },
  ) {
    super(message);
  }
}

/** Why a training call failed after the data was accepted. */
export type TrainingErrorCode = "bad_params" | "parity" | "no_data" | "budget";

/** Training could not produce a model that is safe to register. */
export class TrainingError extends Error {
  override readonly name = "TrainingError";

  constructor(
    readonly code: TrainingErrorCode,
    message: string,
  ) {
    super(message);
  }
}

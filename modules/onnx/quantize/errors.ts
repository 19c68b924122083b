/** Why a model could not be quantized. */
import { DomainError } from "../../../lib/errors.js";

export const QUANTIZATION_REASONS = ["invalid_model", "unsupported_model", "nothing_to_quantize"] as const;
export type QuantizationReason = (typeof QUANTIZATION_REASONS)[number];

/** A model the quantizer refuses; the message says what to change. Never transient. */
export class QuantizationError extends DomainError {
  override name = "QuantizationError";
  constructor(
    readonly reason: QuantizationReason,
    message: string,
  ) {
    super(reason === "invalid_model" ? "invalid_model" : "bad_request", message);
  }
}

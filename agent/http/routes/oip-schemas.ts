/**
 * Open Inference Protocol v2 REST bodies (kserve/open-inference-protocol open_inference_rest.yaml).
 * Requests are checked here; the model-specific checks (names,
 * datatypes, shapes) happen against the served module in oip-infer.ts.
 */
import { z } from "zod";
import { TENSOR_DATATYPES } from "../../../modules/manifest.js";

/**
 * Parameters this server gives meaning to (Triton's binary tensor data
 * extension): they must have the right type; any other parameter is accepted and ignored, as the
 * protocol defines none of its own. `classification` is refused rather than ignored, because a
 * client asking for it expects a different output.
 */
const binaryDataSize = z.number().int().nonnegative().optional();
const flag = z.boolean().optional();
const outputParameters = z
  .looseObject({
    binary_data: flag,
    classification: z.never({ error: "the classification extension is not supported" }).optional(),
  })
  .optional();

export const RequestInputSchema = z
  .object({
    name: z.string().min(1),
    // Each dimension "must be an integer representable as an unsigned 64-bit integer".
    shape: z.array(z.number().int().nonnegative()),
    datatype: z.string().refine((value) => (TENSOR_DATATYPES as readonly string[]).includes(value), {
      message: `datatype must be one of ${TENSOR_DATATYPES.join(", ")}`,
    }),
    parameters: z.looseObject({ binary_data_size: binaryDataSize }).optional(),
    data: z.array(z.unknown(), { error: "data must be an array" }).optional(),
  })
  .refine((input) => (input.data === undefined) !== (input.parameters?.binary_data_size === undefined), {
    message:
      "each input needs either data or parameters.binary_data_size (binary tensor extension), not both",
  });

export const RequestOutputSchema = z.object({ name: z.string().min(1), parameters: outputParameters });

export const InferRequestSchema = z.object({
  id: z.string().optional(),
  parameters: z.looseObject({ binary_data_output: flag }).optional(),
  inputs: z.array(RequestInputSchema).min(1),
  outputs: z.array(RequestOutputSchema).optional(),
});
export type InferRequest = z.infer<typeof InferRequestSchema>;

export interface MetadataTensor {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: MetadataTensor[];
  outputs: MetadataTensor[];
}

export interface InferResponseOutput {
  name: string;
  datatype: string;
  shape: number[];
  /** Absent when the output travels as binary data after the JSON. */
  data?: unknown[];
  parameters?: { binary_data_size: number };
}

export interface InferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: InferResponseOutput[];
  /** One prediction id per row, for POST /v1/feedback (absent for batches over MAX_ID_ROWS). */
  parameters?: { prediction_ids: string[] };
}

/** Triton's platform name for ONNX Runtime models; informational only (protocols.md §1.5). */
export const ONNX_PLATFORM = "onnxruntime_onnx";

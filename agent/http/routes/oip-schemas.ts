/**
 * Open Inference Protocol v2 REST bodies (kserve/open-inference-protocol open_inference_rest.yaml;
 * reference/protocols.md §1.4-1.6). Requests are checked here; the model-specific checks (names,
 * datatypes, shapes) happen against the served module in oip-infer.ts.
 */
import { z } from "zod";
import { TENSOR_DATATYPES } from "../../../modules/manifest.js";

const parameters = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional();

export const RequestInputSchema = z.object({
  name: z.string().min(1),
  // Each dimension "must be an integer representable as an unsigned 64-bit integer".
  shape: z.array(z.number().int().nonnegative()),
  datatype: z.string().refine((value) => (TENSOR_DATATYPES as readonly string[]).includes(value), {
    message: `datatype must be one of ${TENSOR_DATATYPES.join(", ")}`,
  }),
  parameters,
  data: z.unknown().refine((value) => Array.isArray(value), { message: "data must be an array" }),
});

export const RequestOutputSchema = z.object({ name: z.string().min(1), parameters });

export const InferRequestSchema = z.object({
  id: z.string().optional(),
  parameters,
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

export interface InferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[];
}

/** Triton's platform name for ONNX Runtime models; informational only (protocols.md §1.5). */
export const ONNX_PLATFORM = "onnxruntime_onnx";

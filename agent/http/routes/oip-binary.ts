/**
 * Framing of the OIP binary tensor data extension (Triton's extension_binary_data.md): a request or
 * response body is a JSON header of `Inference-Header-Content-Length` bytes followed by the
 * tensors' raw bytes, in the order the tensors appear in the JSON, each `binary_data_size` long.
 * A header of 0 is a raw binary request: the whole body is the one input of a one-input model.
 */
import type { Context } from "hono";
import type { TensorSpec } from "../../../modules/manifest.js";
import { ELEMENT_BYTES } from "../../runtime/tensor-binary.js";
import { ScoringError } from "../errors.js";
import type { InferResponse } from "./oip-schemas.js";

export const BINARY_HEADER = "inference-header-content-length";

/** An infer body: JSON, JSON + binary tail, or one raw binary tensor. */
export type InferBody =
  | { kind: "json"; json: unknown }
  | { kind: "binary"; json: unknown; tail: Uint8Array }
  | { kind: "raw"; bytes: Uint8Array };

/** Reads an infer body in whichever framing the request uses. */
export async function readInferBody(
  c: Context,
  readJson: (c: Context) => Promise<unknown>,
): Promise<InferBody> {
  const header = c.req.header(BINARY_HEADER);
  if (header === undefined) return { kind: "json", json: await readJson(c) };
  const jsonLength = Number(header);
  if (!/^\d+$/.test(header.trim()) || !Number.isSafeInteger(jsonLength)) {
    throw new ScoringError(
      "invalid_input",
      `${BINARY_HEADER} must be a non-negative integer, not "${header}"`,
    );
  }
  const body = new Uint8Array(await c.req.arrayBuffer());
  if (jsonLength === 0) return { kind: "raw", bytes: body };
  if (jsonLength > body.length) {
    throw new ScoringError(
      "invalid_input",
      `${BINARY_HEADER} is ${jsonLength} but the body has only ${body.length} bytes`,
    );
  }
  const text = new TextDecoder().decode(body.subarray(0, jsonLength));
  try {
    return { kind: "binary", json: JSON.parse(text), tail: body.subarray(jsonLength) };
  } catch (error) {
    throw new ScoringError(
      "invalid_input",
      `the first ${jsonLength} bytes (${BINARY_HEADER}) are not valid JSON: ${(error as Error).message}`,
    );
  }
}

/** Cuts the binary tail into one slice per input that declares `binary_data_size`, in order. */
export function sliceTail(
  sizes: readonly (number | undefined)[],
  tail: Uint8Array,
): (Uint8Array | undefined)[] {
  let offset = 0;
  const slices = sizes.map((size) => {
    if (size === undefined) return undefined;
    if (offset + size > tail.length) {
      throw new ScoringError(
        "invalid_input",
        `binary_data_size values add up to more than the ${tail.length} bytes after the JSON`,
      );
    }
    const slice = tail.subarray(offset, offset + size);
    offset += size;
    return slice;
  });
  if (offset !== tail.length) {
    throw new ScoringError(
      "invalid_input",
      `${tail.length - offset} bytes after the JSON are not claimed by any input's binary_data_size`,
    );
  }
  return slices;
}

/**
 * The shape of a raw binary request's one input: batch 1, and at most one other variable dimension,
 * computed from the byte count (Triton's rule). BYTES is refused: its element count is not implied.
 */
export function rawInputShape(spec: TensorSpec, byteLength: number): number[] {
  const size = ELEMENT_BYTES[spec.datatype];
  if (size === undefined) {
    throw new ScoringError("invalid_input", "raw binary requests cannot carry BYTES; send a JSON header");
  }
  const shape = spec.shape.map((dim, i) => (i === 0 && dim < 0 ? 1 : dim));
  const free = shape.filter((dim) => dim < 0).length;
  if (free > 1) {
    throw new ScoringError(
      "invalid_input",
      `input "${spec.name}" has ${free} variable dimensions besides the batch; raw binary requests allow one`,
    );
  }
  const fixed = shape.reduce((product, dim) => (dim < 0 ? product : product * dim), 1) * size;
  if (free === 1) {
    if (fixed === 0 || byteLength % fixed !== 0) {
      throw new ScoringError(
        "invalid_input",
        `${byteLength} bytes do not fill input "${spec.name}" [${spec.shape}] of ${spec.datatype}`,
      );
    }
    return shape.map((dim) => (dim < 0 ? byteLength / fixed : dim));
  }
  return shape;
}

/** Writes the response: plain JSON, or JSON header + binary outputs when any output is binary. */
export function inferResponse(c: Context, response: InferResponse, binary: readonly Uint8Array[]): Response {
  if (binary.length === 0) return c.json(response);
  const header = new TextEncoder().encode(JSON.stringify(response));
  const total = binary.reduce((sum, bytes) => sum + bytes.length, header.length);
  const body = new Uint8Array(total);
  body.set(header);
  let offset = header.length;
  for (const bytes of binary) {
    body.set(bytes, offset);
    offset += bytes.length;
  }
  return c.body(body, 200, {
    "content-type": "application/octet-stream",
    [BINARY_HEADER]: String(header.length),
  });
}

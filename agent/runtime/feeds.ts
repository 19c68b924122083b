/**
 * Request tensors → session feeds, checked against the module's declared inputs: every input
 * named once, no unknown names, the declared datatype, the declared rank and fixed dimensions.
 * Each refusal is a TensorInputError whose message names the input.
 */
import type { TensorDatatype, TensorSpec } from "../../modules/manifest.js";
import type { Feeds } from "./loaded-module.js";
import { tensorFromBinary } from "./tensor-binary.js";
import { TensorInputError, tensorFromJson } from "./tensor-json.js";

export interface RequestTensor {
  name: string;
  shape: number[];
  /** When given it must equal the model's; when omitted the model's datatype is used. */
  datatype?: string;
  data: unknown;
  /** Raw little-endian bytes instead of `data` (OIP binary tensor extension; tensor-binary.ts). */
  bytes?: Uint8Array;
}

/** Builds feeds for `specs` from request tensors; throws TensorInputError on the first problem. */
export function feedsFromJson(
  specs: readonly TensorSpec[],
  tensors: readonly RequestTensor[],
  /** Inputs whose JSON `null` elements become NaN (manifest runtime.missingAsNaN). */
  missingAsNaN: readonly string[] = [],
): Feeds {
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const feeds: Feeds = {};
  const seen = new Set<string>();
  for (const tensor of tensors) {
    const spec = byName.get(tensor.name);
    if (spec === undefined) {
      throw new TensorInputError(
        `unknown input "${tensor.name}"; the model's inputs are ${quoted(byName.keys())}`,
      );
    }
    if (seen.has(tensor.name)) throw new TensorInputError(`input "${tensor.name}" is given more than once`);
    seen.add(tensor.name);
    if (tensor.datatype !== undefined && tensor.datatype !== spec.datatype) {
      throw new TensorInputError(
        `input "${tensor.name}" has datatype ${tensor.datatype} but the model expects ${spec.datatype}`,
      );
    }
    checkShape(tensor.name, tensor.shape, spec.shape);
    feeds[tensor.name] =
      tensor.bytes !== undefined
        ? tensorFromBinary(tensor.name, spec.datatype, tensor.shape, tensor.bytes)
        : tensorFromJson(
            {
              name: tensor.name,
              datatype: spec.datatype as TensorDatatype,
              shape: tensor.shape,
              data: tensor.data,
            },
            { nullAsNaN: missingAsNaN.includes(tensor.name) },
          );
  }
  const missing = specs.filter((spec) => !seen.has(spec.name)).map((spec) => spec.name);
  if (missing.length > 0) throw new TensorInputError(`missing input ${quoted(missing)}`);
  return feeds;
}

/** Refuses a shape whose rank or fixed dimensions differ from the declared shape (-1 is free). */
export function checkShape(name: string, shape: readonly number[], declared: readonly number[]): void {
  const fits = shape.length === declared.length && declared.every((dim, i) => dim < 0 || dim === shape[i]);
  if (!fits) {
    throw new TensorInputError(
      `input "${name}" has shape [${shape}] but the model expects [${declared}] (-1 = any size)`,
    );
  }
}

function quoted(names: Iterable<string>): string {
  return [...names].map((name) => `"${name}"`).join(", ");
}

/** The output names to fetch: the requested ones (checked, duplicates dropped) or all declared. */
export function outputNamesFor(specs: readonly TensorSpec[], requested?: readonly string[]): string[] {
  const declared = specs.map((spec) => spec.name);
  if (requested === undefined || requested.length === 0) return declared;
  const known = new Set(declared);
  for (const name of requested) {
    if (!known.has(name)) {
      throw new TensorInputError(`unknown output "${name}"; the model's outputs are ${quoted(declared)}`);
    }
  }
  return [...new Set(requested)];
}

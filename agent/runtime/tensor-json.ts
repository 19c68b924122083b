/**
 * JSON ⇄ onnxruntime tensors. Requests carry row-major data, nested (`[[1,2],[3,4]]`) or flat
 * (`[1,2,3,4]`), as the Open Inference Protocol allows (Open Inference Protocol v2, "Tensor Data"); responses
 * always carry flat data. Elements are checked against the datatype one by one, so a bad element
 * is reported with its position instead of silently becoming NaN or a wrapped integer.
 */
import { Tensor } from "onnxruntime-node";
import type { TensorDatatype } from "../../modules/manifest.js";
import { DATATYPES, datatypeFromOrt, zeroData } from "./datatypes.js";
import { fromFloat16Bits, toFloat16Bits } from "./float16.js";

/** A request tensor that cannot become an onnxruntime tensor; the message names the tensor. */
export class TensorInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TensorInputError";
  }
}

/** Nesting deeper than any real tensor: refuses hostile bodies before recursion gets expensive. */
const MAX_DEPTH = 32;

export interface JsonTensor {
  name: string;
  datatype: TensorDatatype;
  shape: number[];
  data: unknown;
}

export interface JsonTensorOut {
  name: string;
  datatype: TensorDatatype;
  shape: number[];
  data: number[] | boolean[] | string[];
}

/** Number of elements a shape holds. */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

/**
 * Builds an onnxruntime tensor from JSON data, checking element count and every element's type.
 * The data's elements are counted before the typed array is allocated: a declared shape is the
 * caller's claim, and the parsed body (bounded by the body limit) is what it really sent, so a shape
 * of 2³² elements over a few bytes of data is a 400 without asking for a 16 GiB buffer.
 */
export function tensorFromJson(input: JsonTensor, options: { nullAsNaN?: boolean } = {}): Tensor {
  const { name, datatype, shape } = input;
  const count = elementCount(shape);
  if (!Number.isSafeInteger(count))
    throw new TensorInputError(`input "${name}": shape [${shape}] is too large`);
  if (!Array.isArray(input.data)) {
    throw new TensorInputError(`input "${name}": data must be an array (nested or flat, row-major)`);
  }
  const sent = leafCount(name, input.data);
  if (sent !== count) {
    throw new TensorInputError(
      `input "${name}": data has ${sent} elements but shape [${shape}] needs ${count}`,
    );
  }
  const target = zeroData(datatype, count);
  const write = elementWriter(name, datatype, target, options.nullAsNaN === true);
  let index = 0;
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    write(index, value);
    index++;
  };
  visit(input.data);
  return new Tensor(DATATYPES[datatype].ort, target as never, shape);
}

/** How many non-array elements nested data holds; refuses nesting deeper than any real tensor. */
function leafCount(name: string, data: unknown[]): number {
  let leaves = 0;
  const visit = (value: unknown, depth: number): void => {
    if (!Array.isArray(value)) return void leaves++;
    if (depth > MAX_DEPTH) throw new TensorInputError(`input "${name}": data is nested too deeply`);
    for (const item of value) visit(item, depth + 1);
  };
  visit(data, 0);
  return leaves;
}

/** The shape of nested array data (`[[1,2,3]]` → [1, 3]); refuses ragged nesting. */
export function inferShape(name: string, data: readonly unknown[]): number[] {
  const shape: number[] = [];
  let level: unknown = data;
  while (Array.isArray(level)) {
    if (shape.length > MAX_DEPTH) throw new TensorInputError(`input "${name}": data is nested too deeply`);
    shape.push(level.length);
    level = level[0];
  }
  const check = (value: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(value)) throw new TensorInputError(`input "${name}": nested data is ragged`);
      return;
    }
    if (!Array.isArray(value) || value.length !== shape[depth]) {
      throw new TensorInputError(
        `input "${name}": nested data is ragged; every array at depth ${depth} needs ${shape[depth]} elements`,
      );
    }
    for (const item of value) check(item, depth + 1);
  };
  check(data, 0);
  return shape;
}

type Writer = (index: number, value: unknown) => void;

function elementWriter(
  name: string,
  datatype: TensorDatatype,
  target: Tensor.DataType,
  nullAsNaN: boolean,
): Writer {
  const info = DATATYPES[datatype];
  const refuse = (index: number, value: unknown, expected: string): never => {
    throw new TensorInputError(
      `input "${name}": element ${index} is ${JSON.stringify(value) ?? String(value)}, expected ${expected} for ${datatype}`,
    );
  };
  switch (info.kind) {
    case "float": {
      const array = target as Float32Array | Float64Array;
      // JSON has no NaN: a module that declares missing values (runtime.missingAsNaN) reads null as NaN.
      return (index, value) => {
        if (value === null && nullAsNaN) {
          array[index] = Number.NaN;
          return;
        }
        if (typeof value !== "number") refuse(index, value, nullAsNaN ? "a number or null" : "a number");
        array[index] = value as number;
      };
    }
    case "float16": {
      const array = target as Uint16Array;
      return (index, value) => {
        if (value === null && nullAsNaN) {
          array[index] = toFloat16Bits(Number.NaN);
          return;
        }
        if (typeof value !== "number") refuse(index, value, nullAsNaN ? "a number or null" : "a number");
        array[index] = toFloat16Bits(value as number);
      };
    }
    case "int": {
      const array = target as Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;
      const range = `an integer in [${info.min}, ${info.max}]`;
      return (index, value) => {
        if (!Number.isInteger(value) || (value as number) < info.min! || (value as number) > info.max!) {
          refuse(index, value, range);
        }
        array[index] = value as number;
      };
    }
    case "bigint": {
      const array = target as BigInt64Array | BigUint64Array;
      const range = `an integer in [${info.min}, ${info.max}]`;
      return (index, value) => {
        if (!Number.isInteger(value) || (value as number) < info.min! || (value as number) > info.max!) {
          refuse(index, value, range);
        }
        array[index] = BigInt(value as number);
      };
    }
    case "bool": {
      const array = target as Uint8Array;
      return (index, value) => {
        if (value === true || value === 1) array[index] = 1;
        else if (value === false || value === 0) array[index] = 0;
        else refuse(index, value, "true or false");
      };
    }
    case "string": {
      const array = target as string[];
      return (index, value) => {
        if (typeof value !== "string") refuse(index, value, "a string");
        array[index] = value as string;
      };
    }
  }
}

/** Turns an output tensor into OIP JSON: flat row-major data, BigInt and FP16 as numbers, BOOL as booleans. */
export function tensorToJson(name: string, tensor: Tensor): JsonTensorOut {
  const datatype = datatypeFromOrt(tensor.type);
  if (datatype === undefined) {
    throw new Error(`output "${name}" has type ${tensor.type}, which JSON responses cannot carry`);
  }
  const shape = tensor.dims.map(Number);
  return { name, datatype, shape, data: jsonData(datatype, tensor.data) };
}

/** Flat JSON values of a tensor's data for its datatype. */
export function jsonData(datatype: TensorDatatype, data: Tensor.DataType): number[] | boolean[] | string[] {
  switch (DATATYPES[datatype].kind) {
    case "bool":
      return Array.from(data as Uint8Array, (value) => value !== 0);
    case "bigint":
      // Lossy past 2^53; JSON.stringify refuses BigInt outright (Open Inference Protocol v2, "Tensor Data Types").
      return Array.from(data as BigInt64Array, (value) => Number(value));
    case "float16":
      return Array.from(data as Uint16Array, fromFloat16Bits);
    case "string":
      return Array.from(data as string[]);
    default:
      return Array.from(data as Float32Array);
  }
}

/**
 * A small ONNX graph builder: enough to write the models our tests, demos and built-in trainers need
 * without Python. It checks the graph's wiring as it goes (every node input must already exist), so a
 * generator bug fails here with a name instead of inside onnxruntime.
 */

import type { onnx as OnnxProto } from "onnx-proto";
import type { TensorDatatype } from "../manifest.js";
import { elementTypeOfDatatype } from "./datatypes.js";
import { onnx } from "./proto.js";

/** A dimension: a fixed size, -1 for unknown, or a name for a symbolic dimension such as "batch". */
export type Dim = number | string;

/** Typed arrays an initializer can hold; the ONNX element type follows from the array's class. */
export type InitializerData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/**
 * A node attribute. Plain numbers are INT when integral and FLOAT otherwise; wrap a value in
 * `{ float }` / `{ floats }` to force FLOAT for integral values.
 */
export type AttributeValue =
  | number
  | string
  | number[]
  | string[]
  | { float: number }
  | { floats: number[] }
  | { tensor: { data: InitializerData; dims: number[] } };

export interface ModelOptions {
  /** Default-domain (ai.onnx) opset; 17 is supported by every onnxruntime we ship. */
  opset?: number;
  /** Further operator sets, e.g. `{ domain: "ai.onnx.ml", version: 3 }`. */
  extraOpsets?: { domain: string; version: number }[];
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  modelVersion?: number;
  /** Written as `metadata_props`; prefix custom keys with a reverse-DNS name (protocols.md §5.1). */
  metadata?: Record<string, string>;
}

const elementTypeOfArray = (data: InitializerData): number => {
  if (data instanceof Float32Array) return elementTypeOfDatatype("FP32");
  if (data instanceof Float64Array) return elementTypeOfDatatype("FP64");
  if (data instanceof Int8Array) return elementTypeOfDatatype("INT8");
  if (data instanceof Uint8Array) return elementTypeOfDatatype("UINT8");
  if (data instanceof Int16Array) return elementTypeOfDatatype("INT16");
  if (data instanceof Uint16Array) return elementTypeOfDatatype("UINT16");
  if (data instanceof Int32Array) return elementTypeOfDatatype("INT32");
  if (data instanceof Uint32Array) return elementTypeOfDatatype("UINT32");
  if (data instanceof BigInt64Array) return elementTypeOfDatatype("INT64");
  return elementTypeOfDatatype("UINT64");
};

/** Builds a TensorProto with little-endian raw data (the layout ONNX requires for raw_data). */
export function tensorProto(name: string, data: InitializerData, dims: number[]): OnnxProto.ITensorProto {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== data.length) {
    throw new Error(
      `tensor "${name}": dims [${dims.join(", ")}] need ${expected} values, got ${data.length}`,
    );
  }
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`tensor "${name}": dims must be non-negative integers`);
  }
  // Typed arrays use the host's byte order; every platform Node supports in practice is little-endian.
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return { name, dataType: elementTypeOfArray(data), dims, rawData: raw };
}

function valueInfo(name: string, datatype: TensorDatatype, shape: Dim[]): OnnxProto.IValueInfoProto {
  const dim = shape.map((d): OnnxProto.TensorShapeProto.IDimension => {
    if (typeof d === "string") return { dimParam: d };
    if (d === -1) return {};
    if (!Number.isInteger(d) || d < 0) throw new Error(`value "${name}": bad dimension ${d}`);
    return { dimValue: d };
  });
  return { name, type: { tensorType: { elemType: elementTypeOfDatatype(datatype), shape: { dim } } } };
}

function attribute(name: string, value: AttributeValue): OnnxProto.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === "number") {
    return Number.isInteger(value) ? { name, type: T.INT, i: value } : { name, type: T.FLOAT, f: value };
  }
  if (typeof value === "string") return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === "string")) {
      return { name, type: T.STRINGS, strings: (value as string[]).map((v) => new TextEncoder().encode(v)) };
    }
    const numbers = value as number[];
    return numbers.every((v) => Number.isInteger(v))
      ? { name, type: T.INTS, ints: numbers }
      : { name, type: T.FLOATS, floats: numbers };
  }
  if ("float" in value) return { name, type: T.FLOAT, f: value.float };
  if ("floats" in value) return { name, type: T.FLOATS, floats: value.floats };
  return { name, type: T.TENSOR, t: tensorProto(name, value.tensor.data, value.tensor.dims) };
}

/** Accumulates inputs, initializers, nodes and outputs, then serialises a ModelProto. */
export class GraphBuilder {
  readonly #inputs: OnnxProto.IValueInfoProto[] = [];
  readonly #outputs: OnnxProto.IValueInfoProto[] = [];
  readonly #initializers: OnnxProto.ITensorProto[] = [];
  readonly #nodes: OnnxProto.INodeProto[] = [];
  /** Every value produced so far (inputs, initializers, node outputs): SSA names must be unique. */
  readonly #values = new Set<string>();
  #nodeCount = 0;

  /** Starts an empty graph called `name`. */
  constructor(readonly name: string) {}

  #define(name: string): void {
    if (!name) throw new Error("value names must not be empty");
    if (this.#values.has(name)) throw new Error(`value "${name}" is defined twice`);
    this.#values.add(name);
  }

  /** Declares a graph input. */
  input(name: string, datatype: TensorDatatype, shape: Dim[]): this {
    this.#define(name);
    this.#inputs.push(valueInfo(name, datatype, shape));
    return this;
  }

  /** Declares a graph output; the value must be produced by the time `toModel` runs. */
  output(name: string, datatype: TensorDatatype, shape: Dim[]): this {
    this.#outputs.push(valueInfo(name, datatype, shape));
    return this;
  }

  /** Adds a constant tensor (weights); its element type follows the typed array. */
  initializer(name: string, data: InitializerData, dims: number[]): this {
    this.#define(name);
    this.#initializers.push(tensorProto(name, data, dims));
    return this;
  }

  /** Appends a node; nodes must be added in topological order. Empty input names mean "omitted". */
  node(
    opType: string,
    inputs: string[],
    outputs: string[],
    attributes: Record<string, AttributeValue> = {},
    domain = "",
  ): this {
    for (const input of inputs) {
      if (input !== "" && !this.#values.has(input)) {
        throw new Error(`${opType} node: input "${input}" is not defined yet`);
      }
    }
    for (const output of outputs) this.#define(output);
    this.#nodes.push({
      name: `${opType.toLowerCase()}_${this.#nodeCount++}`,
      opType,
      domain,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    return this;
  }

  /** Serialises the graph as an ONNX ModelProto. */
  toModel(options: ModelOptions = {}): Uint8Array {
    for (const output of this.#outputs) {
      if (!this.#values.has(output.name ?? "")) throw new Error(`output "${output.name}" is never produced`);
    }
    if (this.#inputs.length === 0 || this.#outputs.length === 0) {
      throw new Error(`graph "${this.name}" needs at least one input and one output`);
    }
    const model: OnnxProto.IModelProto = {
      irVersion: options.irVersion ?? 8,
      producerName: options.producerName ?? "edgefleet",
      producerVersion: options.producerVersion ?? "",
      docString: options.docString ?? "",
      modelVersion: options.modelVersion ?? 0,
      opsetImport: [{ domain: "", version: options.opset ?? 17 }, ...(options.extraOpsets ?? [])],
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        input: this.#inputs,
        output: this.#outputs,
        initializer: this.#initializers,
        node: this.#nodes,
      },
    };
    return onnx.ModelProto.encode(model).finish();
  }
}

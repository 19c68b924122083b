/**
 * What the int8 rewrites share: decoding the model, the constants a graph holds (initializers and
 * Constant nodes), fresh value names, node attributes, and which MatMul/Gemm/Conv nodes have a
 * constant FP32 weight worth quantizing.
 */
import type { onnx as OnnxProto } from "onnx-proto";
import { int64ToNumber, onnx } from "../proto.js";
import { QuantizationError } from "./errors.js";

export const QUANTIZABLE_OPS = ["MatMul", "Gemm", "Conv"] as const;
export type QuantizableOp = (typeof QUANTIZABLE_OPS)[number];

/** ONNX TensorProto.DataType.FLOAT. */
export const FLOAT = 1;
/** Weights with fewer elements stay float by default: their int8 form saves nothing and costs accuracy. */
export const DEFAULT_MIN_WEIGHT_ELEMENTS = 16;

/** A quantized node, for the result's report. */
export interface QuantizedNode {
  node: string;
  op: QuantizableOp;
  weight: string;
  elements: number;
}

/** A candidate node left in float, with why. */
export interface SkippedNode {
  node: string;
  op: string;
  reason: string;
}

export function decodeModel(bytes: Uint8Array): OnnxProto.ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new QuantizationError("invalid_model", `not an ONNX model: ${(error as Error).message}`);
  }
}

/** A tensor's FP32 values stored in the file; null for other types and external data. */
export function floatValues(tensor: OnnxProto.ITensorProto): Float32Array | null {
  if (tensor.dataType !== FLOAT) return null;
  if (tensor.rawData && tensor.rawData.byteLength > 0) {
    const raw = tensor.rawData;
    const copy = new Uint8Array(raw.byteLength);
    copy.set(raw);
    return new Float32Array(copy.buffer);
  }
  if (tensor.externalData && tensor.externalData.length > 0) return null;
  return Float32Array.from(tensor.floatData ?? []);
}

export const dimsOf = (tensor: OnnxProto.ITensorProto) =>
  (tensor.dims ?? []).map((d) => int64ToNumber(d as never));

export function attrInt(node: OnnxProto.INodeProto, name: string, fallback: number): number {
  const a = node.attribute?.find((x) => x.name === name);
  return a ? int64ToNumber(a.i as never) : fallback;
}

export function attrFloat(node: OnnxProto.INodeProto, name: string, fallback: number): number {
  const a = node.attribute?.find((x) => x.name === name);
  return a ? (a.f ?? fallback) : fallback;
}

/** A constant reachable by name: an initializer or a Constant node's `value`. */
export interface Constant {
  tensor: OnnxProto.ITensorProto;
  /** Where it lives, so it can be dropped once unused. */
  source: { kind: "initializer" } | { kind: "node"; node: OnnxProto.INodeProto };
}

/** Every constant of the graph by value name. */
export function constantsOf(graph: OnnxProto.IGraphProto): Map<string, Constant> {
  const constants = new Map<string, Constant>();
  for (const t of graph.initializer ?? [])
    constants.set(t.name ?? "", { tensor: t, source: { kind: "initializer" } });
  for (const n of graph.node ?? []) {
    const value =
      n.opType === "Constant" && !n.domain ? n.attribute?.find((a) => a.name === "value")?.t : undefined;
    if (value && n.output?.[0])
      constants.set(n.output[0], { tensor: value, source: { kind: "node", node: n } });
  }
  return constants;
}

/** Whether any node carries a subgraph (If, Loop, Scan): then unused constants are kept. */
export function hasSubgraphs(graph: OnnxProto.IGraphProto): boolean {
  return (graph.node ?? []).some((n) => n.attribute?.some((a) => a.g || (a.graphs?.length ?? 0) > 0));
}

/** A maker of value names that no input, output, initializer or node output of the graph uses yet. */
export function namer(graph: OnnxProto.IGraphProto): (base: string) => string {
  const names = new Set<string>();
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])])
    names.add(v.name ?? "");
  for (const t of graph.initializer ?? []) names.add(t.name ?? "");
  for (const n of graph.node ?? []) for (const o of n.output ?? []) names.add(o);
  return (base: string) => {
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };
}

/** Why `node` stays float, or its weight constant and layout. */
export function weightOf(
  node: OnnxProto.INodeProto,
  constants: Map<string, Constant>,
  minElements: number,
): { reason: string } | { weight: string; values: Float32Array; dims: number[] } {
  const weight = node.input?.[1] ?? "";
  const constant = constants.get(weight);
  if (!constant) return { reason: "the weight is not a constant" };
  if (constants.has(node.input?.[0] ?? "")) return { reason: "both operands are constants" };
  const values = floatValues(constant.tensor);
  if (!values) return { reason: "the weight is not FP32 data stored in the file" };
  if (values.length < minElements)
    return { reason: `the weight has ${values.length} elements (< ${minElements})` };
  return { weight, values, dims: dimsOf(constant.tensor) };
}

/** Removes float constants no node or graph output reads any more (the weights just quantized). */
export function dropUnused(graph: OnnxProto.IGraphProto, constants: Map<string, Constant>): void {
  const used = new Set<string>();
  for (const n of graph.node ?? []) for (const i of n.input ?? []) used.add(i);
  for (const o of graph.output ?? []) used.add(o.name ?? "");
  const unusedNodes = new Set<OnnxProto.INodeProto>();
  const unusedInitializers = new Set<string>();
  for (const [name, constant] of constants) {
    if (used.has(name)) continue;
    if (constant.source.kind === "node") unusedNodes.add(constant.source.node);
    else unusedInitializers.add(name);
  }
  graph.node = (graph.node ?? []).filter((n) => !unusedNodes.has(n));
  graph.initializer = (graph.initializer ?? []).filter((t) => !unusedInitializers.has(t.name ?? ""));
  // IR < 4 also lists initializers as inputs; drop the ones that are gone.
  graph.input = (graph.input ?? []).filter((v) => !unusedInitializers.has(v.name ?? ""));
}

/** The refusal when no node could be quantized, naming the first few reasons. */
export function nothingToQuantize(skipped: SkippedNode[]): QuantizationError {
  const why =
    skipped.length > 0
      ? `: ${skipped
          .slice(0, 3)
          .map((s) => `${s.node} (${s.reason})`)
          .join("; ")}`
      : "";
  return new QuantizationError(
    "nothing_to_quantize",
    `the model has no MatMul, Gemm or Conv with a constant FP32 weight to quantize${why}`,
  );
}

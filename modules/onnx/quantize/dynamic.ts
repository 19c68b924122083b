/**
 * Dynamic int8 quantization as an ONNX graph rewrite, in the form onnxruntime's own
 * `quantize_dynamic` writes (QOperator format): each MatMul, Gemm and Conv whose weight is a
 * constant becomes
 *
 *   x ─ DynamicQuantizeLinear ─► x_q, x_scale, x_zp           (uint8, per tensor, at run time)
 *   MatMulInteger / ConvInteger(x_q, w_q, x_zp, w_zp) ─► int32
 *   Cast(float) × (x_scale · w_scale) [+ bias]  ─► the node's original output
 *
 * with 8-bit weights per output channel (weights.ts). onnxruntime fuses the chain into its
 * DynamicQuantizeMatMul / ConvInteger kernels. Float weights that only quantized nodes used are
 * dropped, which is where the ~4x smaller file comes from. Every other node is kept as it was.
 */
import type { onnx as OnnxProto } from "onnx-proto";
import { tensorProto } from "../builder.js";
import { int64ToNumber, onnx } from "../proto.js";
import { QuantizationError } from "./errors.js";
import { raiseOpset } from "./opset.js";
import { quantizePerChannel, SYMMETRIC_ZERO_POINT } from "./weights.js";

export const QUANTIZABLE_OPS = ["MatMul", "Gemm", "Conv"] as const;
export type QuantizableOp = (typeof QUANTIZABLE_OPS)[number];

export interface DynamicQuantizeOptions {
  /** Which operators to quantize (default all three). */
  ops?: readonly QuantizableOp[];
  /** Weights with fewer elements stay float: their int8 form saves nothing and costs accuracy. */
  minWeightElements?: number;
}

export interface QuantizedNode {
  node: string;
  op: QuantizableOp;
  weight: string;
  elements: number;
}

export interface DynamicQuantizeResult {
  bytes: Uint8Array;
  quantized: QuantizedNode[];
  /** Candidate nodes left in float, with why. */
  skipped: { node: string; op: string; reason: string }[];
  opset: { from: number; to: number };
}

const FLOAT = 1;
const DEFAULT_MIN_WEIGHT_ELEMENTS = 16;

function decodeModel(bytes: Uint8Array): OnnxProto.ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new QuantizationError("invalid_model", `not an ONNX model: ${(error as Error).message}`);
  }
}

function floatValues(tensor: OnnxProto.ITensorProto): Float32Array | null {
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

const dimsOf = (tensor: OnnxProto.ITensorProto) => (tensor.dims ?? []).map((d) => int64ToNumber(d as never));

function attrInt(node: OnnxProto.INodeProto, name: string, fallback: number): number {
  const a = node.attribute?.find((x) => x.name === name);
  return a ? int64ToNumber(a.i as never) : fallback;
}
function attrFloat(node: OnnxProto.INodeProto, name: string, fallback: number): number {
  const a = node.attribute?.find((x) => x.name === name);
  return a ? (a.f ?? fallback) : fallback;
}

/** A constant reachable by name: an initializer or a Constant node's `value`. */
interface Constant {
  tensor: OnnxProto.ITensorProto;
  /** Where it lives, so it can be dropped once unused. */
  source: { kind: "initializer" } | { kind: "node"; node: OnnxProto.INodeProto };
}

/** Rewrites every quantizable node of `bytes`; QuantizationError when none can be. */
export function quantizeDynamic(
  bytes: Uint8Array,
  options: DynamicQuantizeOptions = {},
): DynamicQuantizeResult {
  const model = decodeModel(bytes);
  const graph = model.graph;
  if (!graph) throw new QuantizationError("invalid_model", "the model has no graph");
  const ops = new Set<string>(options.ops ?? QUANTIZABLE_OPS);
  const minElements = options.minWeightElements ?? DEFAULT_MIN_WEIGHT_ELEMENTS;

  const names = new Set<string>();
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])])
    names.add(v.name ?? "");
  for (const t of graph.initializer ?? []) names.add(t.name ?? "");
  for (const n of graph.node ?? []) for (const o of n.output ?? []) names.add(o);
  const unique = (base: string) => {
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };

  const constants = new Map<string, Constant>();
  for (const t of graph.initializer ?? [])
    constants.set(t.name ?? "", { tensor: t, source: { kind: "initializer" } });
  for (const n of graph.node ?? []) {
    const value =
      n.opType === "Constant" && !n.domain ? n.attribute?.find((a) => a.name === "value")?.t : undefined;
    if (value && n.output?.[0])
      constants.set(n.output[0], { tensor: value, source: { kind: "node", node: n } });
  }
  const hasSubgraphs = (graph.node ?? []).some((n) =>
    n.attribute?.some((a) => a.g || (a.graphs?.length ?? 0) > 0),
  );

  const newInitializers: OnnxProto.ITensorProto[] = [];
  const addInitializer = (t: OnnxProto.ITensorProto) => {
    newInitializers.push(t);
  };
  const quantized: QuantizedNode[] = [];
  const skipped: DynamicQuantizeResult["skipped"] = [];
  /** Activation name → its DynamicQuantizeLinear outputs (one per tensor, shared by its consumers). */
  const activations = new Map<string, { q: string; scale: string; zp: string }>();
  const rewritten: OnnxProto.INodeProto[] = [];
  let nodeCount = 0;
  const emit = (
    opType: string,
    input: string[],
    output: string[],
    attribute: OnnxProto.IAttributeProto[] = [],
  ) =>
    rewritten.push({
      name: `quant_${opType.toLowerCase()}_${nodeCount++}`,
      opType,
      domain: "",
      input,
      output,
      attribute,
    });

  const quantizeActivation = (x: string) => {
    let found = activations.get(x);
    if (!found) {
      found = { q: unique(`${x}/q`), scale: unique(`${x}/q_scale`), zp: unique(`${x}/q_zero_point`) };
      emit("DynamicQuantizeLinear", [x], [found.q, found.scale, found.zp]);
      activations.set(x, found);
    }
    return found;
  };

  /** Why `node` stays float, or its weight constant and layout. */
  const candidate = (
    node: OnnxProto.INodeProto,
  ): { reason: string } | { weight: string; values: Float32Array; dims: number[] } => {
    const weight = node.input?.[1] ?? "";
    const constant = constants.get(weight);
    if (!constant) return { reason: "the weight is not a constant" };
    if (constants.has(node.input?.[0] ?? "")) return { reason: "both operands are constants" };
    const values = floatValues(constant.tensor);
    if (!values) return { reason: "the weight is not FP32 data stored in the file" };
    if (values.length < minElements)
      return { reason: `the weight has ${values.length} elements (< ${minElements})` };
    return { weight, values, dims: dimsOf(constant.tensor) };
  };

  for (const node of graph.node ?? []) {
    const op = node.opType ?? "";
    if (node.domain || !ops.has(op)) {
      rewritten.push(node);
      continue;
    }
    const label = node.name || `${op}(${node.output?.[0]})`;
    const found = candidate(node);
    const skip = (reason: string) => {
      skipped.push({ node: label, op, reason });
      rewritten.push(node);
    };
    if ("reason" in found) {
      skip(found.reason);
      continue;
    }
    const output = node.output![0]!;
    const x = node.input![0]!;
    if (op === "MatMul" || op === "Gemm") {
      let { values, dims } = found;
      let alpha = 1;
      let beta = 1;
      if (op === "Gemm") {
        if (attrInt(node, "transA", 0) !== 0) {
          skip("Gemm with transA is not rewritten");
          continue;
        }
        alpha = attrFloat(node, "alpha", 1);
        beta = attrFloat(node, "beta", 1);
        if (attrInt(node, "transB", 0) !== 0 && dims.length === 2) {
          const [n, k] = dims as [number, number];
          const t = new Float32Array(values.length);
          for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) t[j * n + i] = values[i * k + j]!;
          values = t;
          dims = [k, n];
        }
      }
      if (dims.length !== 2) {
        skip(`the weight has rank ${dims.length}, not 2`);
        continue;
      }
      const columns = dims[1]!;
      const q = quantizePerChannel(values, columns, (i) => i % columns);
      const w = unique(`${found.weight}/quantized`);
      const wZp = unique(`${found.weight}/zero_point`);
      const wScale = unique(`${found.weight}/scale`);
      addInitializer(tensorProto(w, q.values, dims));
      addInitializer(tensorProto(wZp, q.zeroPoints, [columns]));
      addInitializer(
        tensorProto(
          wScale,
          q.scales.map((s) => s * alpha),
          [columns],
        ),
      );
      const a = quantizeActivation(x);
      const integer = unique(`${output}/int32`);
      const asFloat = unique(`${output}/int32_float`);
      const scale = unique(`${output}/scale`);
      emit("MatMulInteger", [a.q, w, a.zp, wZp], [integer]);
      emit(
        "Cast",
        [integer],
        [asFloat],
        [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }],
      );
      emit("Mul", [a.scale, wScale], [scale]);
      const bias = node.input?.[2];
      if (op === "Gemm" && bias && beta !== 0) {
        const scaled = unique(`${output}/no_bias`);
        emit("Mul", [asFloat, scale], [scaled]);
        let biasName = bias;
        const biasConstant = constants.get(bias);
        const biasValues = biasConstant ? floatValues(biasConstant.tensor) : null;
        if (beta !== 1 && biasValues) {
          biasName = unique(`${bias}/beta`);
          addInitializer(
            tensorProto(
              biasName,
              biasValues.map((v) => v * beta),
              dimsOf(biasConstant!.tensor),
            ),
          );
        } else if (beta !== 1) {
          const betaName = unique(`${output}/beta`);
          addInitializer(tensorProto(betaName, Float32Array.of(beta), []));
          biasName = unique(`${bias}/times_beta`);
          emit("Mul", [bias, betaName], [biasName]);
        }
        emit("Add", [scaled, biasName], [output]);
      } else {
        emit("Mul", [asFloat, scale], [output]);
      }
      quantized.push({ node: label, op, weight: found.weight, elements: values.length });
      continue;
    }
    // Conv: weight [M, C/group, k...], one channel per output feature map.
    const { values, dims } = found;
    if (dims.length < 3) {
      skip(`the weight has rank ${dims.length}; Conv weights have 3 or more`);
      continue;
    }
    const channels = dims[0]!;
    const perChannel = values.length / channels;
    const q = quantizePerChannel(values, channels, (i) => Math.floor(i / perChannel), { symmetric: true });
    const spatial = Array(dims.length - 2).fill(1) as number[];
    const w = unique(`${found.weight}/quantized`);
    const wZp = unique(`${found.weight}/zero_point`);
    const wScale = unique(`${found.weight}/scale`);
    addInitializer(tensorProto(w, q.values, dims));
    addInitializer(tensorProto(wZp, Uint8Array.of(SYMMETRIC_ZERO_POINT), []));
    // Shaped [M, 1, …] so it broadcasts over the [N, M, H, W] output.
    addInitializer(tensorProto(wScale, q.scales, [channels, ...spatial]));
    const a = quantizeActivation(x);
    const integer = unique(`${output}/int32`);
    const asFloat = unique(`${output}/int32_float`);
    const scale = unique(`${output}/scale`);
    emit(
      "ConvInteger",
      [a.q, w, a.zp, wZp],
      [integer],
      (node.attribute ?? []).map((at) => ({ ...at })),
    );
    emit(
      "Cast",
      [integer],
      [asFloat],
      [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }],
    );
    emit("Mul", [a.scale, wScale], [scale]);
    const bias = node.input?.[2];
    if (bias) {
      const scaled = unique(`${output}/no_bias`);
      emit("Mul", [asFloat, scale], [scaled]);
      const biasConstant = constants.get(bias);
      const biasValues = biasConstant ? floatValues(biasConstant.tensor) : null;
      let biasName: string;
      if (biasValues) {
        biasName = unique(`${bias}/broadcast`);
        addInitializer(tensorProto(biasName, biasValues, [channels, ...spatial]));
      } else {
        const shape = unique(`${bias}/shape`);
        addInitializer(
          tensorProto(shape, BigInt64Array.from([channels, ...spatial].map(BigInt)), [dims.length - 1]),
        );
        biasName = unique(`${bias}/broadcast`);
        emit("Reshape", [bias, shape], [biasName]);
      }
      emit("Add", [scaled, biasName], [output]);
    } else {
      emit("Mul", [asFloat, scale], [output]);
    }
    quantized.push({ node: label, op: "Conv", weight: found.weight, elements: values.length });
  }

  if (quantized.length === 0) {
    const why =
      skipped.length > 0
        ? `: ${skipped
            .slice(0, 3)
            .map((s) => `${s.node} (${s.reason})`)
            .join("; ")}`
        : "";
    throw new QuantizationError(
      "nothing_to_quantize",
      `the model has no MatMul, Gemm or Conv with a constant FP32 weight to quantize${why}`,
    );
  }

  const opset = raiseOpset(model, unique, addInitializer);
  graph.node = rewritten;
  graph.initializer = [...(graph.initializer ?? []), ...newInitializers];
  if (!hasSubgraphs) dropUnused(graph, constants);
  model.producerName = model.producerName ? `${model.producerName} + edgefleet int8` : "edgefleet int8";
  return { bytes: onnx.ModelProto.encode(model).finish(), quantized, skipped, opset };
}

/** Removes float constants no node or graph output reads any more (the weights just quantized). */
function dropUnused(graph: OnnxProto.IGraphProto, constants: Map<string, Constant>): void {
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

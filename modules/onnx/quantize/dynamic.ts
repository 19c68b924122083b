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
import { onnx } from "../proto.js";
import { QuantizationError } from "./errors.js";
import {
  attrFloat,
  attrInt,
  constantsOf,
  DEFAULT_MIN_WEIGHT_ELEMENTS,
  decodeModel,
  dimsOf,
  dropUnused,
  FLOAT,
  floatValues,
  hasSubgraphs,
  namer,
  nothingToQuantize,
  QUANTIZABLE_OPS,
  type QuantizableOp,
  type QuantizedNode,
  type SkippedNode,
  weightOf,
} from "./graph.js";
import { raiseOpset } from "./opset.js";
import { quantizePerChannel, SYMMETRIC_ZERO_POINT } from "./weights.js";

export interface DynamicQuantizeOptions {
  /** Which operators to quantize (default all three). */
  ops?: readonly QuantizableOp[];
  /** Weights with fewer elements stay float: their int8 form saves nothing and costs accuracy. */
  minWeightElements?: number;
}

export interface DynamicQuantizeResult {
  bytes: Uint8Array;
  quantized: QuantizedNode[];
  /** Candidate nodes left in float, with why. */
  skipped: SkippedNode[];
  opset: { from: number; to: number };
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
  const unique = namer(graph);
  const constants = constantsOf(graph);
  const keepConstants = hasSubgraphs(graph);

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

  for (const node of graph.node ?? []) {
    const op = node.opType ?? "";
    if (node.domain || !ops.has(op)) {
      rewritten.push(node);
      continue;
    }
    const label = node.name || `${op}(${node.output?.[0]})`;
    const found = weightOf(node, constants, minElements);
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

  if (quantized.length === 0) throw nothingToQuantize(skipped);

  const opset = raiseOpset(model, unique, addInitializer);
  graph.node = rewritten;
  graph.initializer = [...(graph.initializer ?? []), ...newInitializers];
  if (!keepConstants) dropUnused(graph, constants);
  model.producerName = model.producerName ? `${model.producerName} + edgefleet int8` : "edgefleet int8";
  return { bytes: onnx.ModelProto.encode(model).finish(), quantized, skipped, opset };
}

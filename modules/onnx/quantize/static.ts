/**
 * Static int8 quantization as an ONNX graph rewrite in QDQ form (what onnxruntime's own
 * `quantize_static` writes by default): each MatMul, Gemm and Conv whose weight is a constant keeps
 * its float operator, with
 *
 *   x ─ QuantizeLinear(s_x, z_x) ─ DequantizeLinear ─┐              (uint8 activation, per tensor)
 *   w_q (int8, per output channel) ─ DequantizeLinear ─┤─ op ─ Quantize/DequantizeLinear(s_y, z_y) ─► y
 *
 * where the activation scales come from calibration (ranges of x and y over calibration rows,
 * calibrate.ts), not from each request as in dynamic quantization. onnxruntime's CPU provider fuses
 * DQ → op → Q groups into its integer kernels (QLinearMatMul, QLinearConv); where it does not, the
 * graph still computes the quantized values. Float weights that only quantized nodes used are
 * dropped (int8 weights: the ~4x smaller file). Per-channel DequantizeLinear needs opset 13; an
 * older model gets onnxruntime's `com.microsoft` QuantizeLinear/DequantizeLinear, which take the
 * same inputs and `axis`; such a model is raised to opset 11 only (opset.ts), as for dynamic.
 */
import type { onnx as OnnxProto } from "onnx-proto";
import { tensorProto } from "../builder.js";
import { int64ToNumber, onnx } from "../proto.js";
import { QuantizationError } from "./errors.js";
import {
  attrFloat,
  attrInt,
  constantsOf,
  DEFAULT_MIN_WEIGHT_ELEMENTS,
  decodeModel,
  dropUnused,
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
import { defaultOpsetEntry, raiseOpset } from "./opset.js";

/** An activation's observed range over the calibration rows. */
export interface TensorRange {
  min: number;
  max: number;
}

export interface StaticQuantizeOptions {
  ops?: readonly QuantizableOp[];
  minWeightElements?: number;
}

export interface StaticQuantizeResult {
  bytes: Uint8Array;
  quantized: QuantizedNode[];
  skipped: SkippedNode[];
  /** The default-domain opset, raised to 11 where it was older (below 13 Q/DQ come from com.microsoft). */
  opset: { from: number; to: number };
}

/** Opset where QuantizeLinear/DequantizeLinear gained `axis` (per-channel weights). */
const PER_CHANNEL_OPSET = 13;
const CONTRIB_DOMAIN = "com.microsoft";

/** The node's activation input and its weight's output-channel axis, or why it stays float. */
function plan(
  node: OnnxProto.INodeProto,
  dims: number[],
): { reason: string } | { axis: number; channels: number } {
  const op = node.opType as QuantizableOp;
  if (op === "Conv") {
    if (dims.length < 3) return { reason: `the weight has rank ${dims.length}; Conv weights have 3 or more` };
    return { axis: 0, channels: dims[0]! };
  }
  if (dims.length !== 2) return { reason: `the weight has rank ${dims.length}, not 2` };
  if (op === "Gemm") {
    if (attrInt(node, "transA", 0) !== 0) return { reason: "Gemm with transA is not rewritten" };
    // Gemm's B is [K, N], or [N, K] with transB: the output channel is N either way.
    return attrInt(node, "transB", 0) !== 0
      ? { axis: 0, channels: dims[0]! }
      : { axis: 1, channels: dims[1]! };
  }
  return { axis: 1, channels: dims[1]! };
}

/** The activations calibration must observe: each quantizable node's input and output. */
export function calibrationTensors(bytes: Uint8Array, options: StaticQuantizeOptions = {}): string[] {
  const graph = decodeModel(bytes).graph;
  if (!graph) throw new QuantizationError("invalid_model", "the model has no graph");
  const ops = new Set<string>(options.ops ?? QUANTIZABLE_OPS);
  const constants = constantsOf(graph);
  const minElements = options.minWeightElements ?? DEFAULT_MIN_WEIGHT_ELEMENTS;
  const tensors = new Set<string>();
  for (const node of graph.node ?? []) {
    if (node.domain || !ops.has(node.opType ?? "")) continue;
    const found = weightOf(node, constants, minElements);
    if ("reason" in found || "reason" in plan(node, found.dims)) continue;
    tensors.add(node.input![0]!);
    tensors.add(node.output![0]!);
  }
  return [...tensors];
}

/** uint8 affine parameters for a range, widened to hold 0 (so zero padding and ReLU zeros stay exact). */
export function activationParams(range: TensorRange): { scale: number; zeroPoint: number } {
  const min = Math.min(0, range.min);
  const max = Math.max(0, range.max);
  if (!(Number.isFinite(min) && Number.isFinite(max)))
    throw new RangeError(`calibration range [${range.min}, ${range.max}] is not finite`);
  if (max === min) return { scale: 1, zeroPoint: 0 };
  const scale = (max - min) / 255;
  return { scale, zeroPoint: Math.min(255, Math.max(0, Math.round(-min / scale))) };
}

/** Symmetric int8 weights per channel along `axis` (zero point 0, values −127…127). */
function quantizeWeights(values: Float32Array, dims: number[], axis: number) {
  const channels = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number) => Math.floor(i / inner) % channels;
  const bound = new Float32Array(channels);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`weight ${i} is ${v}; only finite weights quantize`);
    const c = channelOf(i);
    bound[c] = Math.max(bound[c]!, Math.abs(v));
  }
  const scales = Float32Array.from(bound, (b) => (b > 0 ? b / 127 : 1));
  const q = Int8Array.from(values, (v, i) =>
    Math.max(-127, Math.min(127, Math.round(v / scales[channelOf(i)]!))),
  );
  return { q, scales, zeroPoints: new Int8Array(channels) };
}

/**
 * Rewrites every quantizable node whose input and output have a calibrated range; QuantizationError
 * when none can be.
 */
export function quantizeStatic(
  bytes: Uint8Array,
  ranges: ReadonlyMap<string, TensorRange>,
  options: StaticQuantizeOptions = {},
): StaticQuantizeResult {
  const model = decodeModel(bytes);
  const graph = model.graph;
  if (!graph) throw new QuantizationError("invalid_model", "the model has no graph");
  const ops = new Set<string>(options.ops ?? QUANTIZABLE_OPS);
  const minElements = options.minWeightElements ?? DEFAULT_MIN_WEIGHT_ELEMENTS;
  const unique = namer(graph);
  const constants = constantsOf(graph);
  const keepConstants = hasSubgraphs(graph);
  const entry = defaultOpsetEntry(model);
  const opsetVersion = entry ? int64ToNumber(entry.version as never) : 1;
  const domain = opsetVersion >= PER_CHANNEL_OPSET ? "" : CONTRIB_DOMAIN;

  const initializers: OnnxProto.ITensorProto[] = [];
  const rewritten: OnnxProto.INodeProto[] = [];
  const quantized: QuantizedNode[] = [];
  const skipped: SkippedNode[] = [];
  let count = 0;
  const emit = (opType: string, input: string[], output: string[], axis?: number) =>
    rewritten.push({
      name: `quant_${opType.toLowerCase()}_${count++}`,
      opType,
      domain,
      input,
      output,
      attribute:
        axis === undefined ? [] : [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: axis }],
    });
  /** Quantize → dequantize of a calibrated activation; returns the dequantized value's name. */
  const fakeQuantize = (source: string, target: string, range: TensorRange) => {
    const { scale, zeroPoint } = activationParams(range);
    const s = unique(`${target}/scale`);
    const z = unique(`${target}/zero_point`);
    const q = unique(`${target}/quantized`);
    initializers.push(
      tensorProto(s, Float32Array.of(scale), []),
      tensorProto(z, Uint8Array.of(zeroPoint), []),
    );
    emit("QuantizeLinear", [source, s, z], [q]);
    emit("DequantizeLinear", [q, s, z], [target]);
  };
  /** One Q/DQ pair per activation, shared by every node that reads it. */
  const dequantized = new Map<string, string>();

  for (const node of graph.node ?? []) {
    const op = node.opType ?? "";
    if (node.domain || !ops.has(op)) {
      rewritten.push(node);
      continue;
    }
    const label = node.name || `${op}(${node.output?.[0]})`;
    const skip = (reason: string) => {
      skipped.push({ node: label, op, reason });
      rewritten.push(node);
    };
    const found = weightOf(node, constants, minElements);
    if ("reason" in found) {
      skip(found.reason);
      continue;
    }
    const layout = plan(node, found.dims);
    if ("reason" in layout) {
      skip(layout.reason);
      continue;
    }
    const x = node.input![0]!;
    const y = node.output![0]!;
    const xRange = ranges.get(x);
    const yRange = ranges.get(y);
    if (!xRange || !yRange) {
      skip("no calibration range for its input or output");
      continue;
    }
    let xDq = dequantized.get(x);
    if (xDq === undefined) {
      xDq = unique(`${x}/dequantized`);
      fakeQuantize(x, xDq, xRange);
      dequantized.set(x, xDq);
    }
    const w = quantizeWeights(found.values, found.dims, layout.axis);
    const wq = unique(`${found.weight}/quantized`);
    const ws = unique(`${found.weight}/scale`);
    const wz = unique(`${found.weight}/zero_point`);
    const wDq = unique(`${found.weight}/dequantized`);
    initializers.push(
      tensorProto(wq, w.q, found.dims),
      tensorProto(ws, w.scales, [layout.channels]),
      tensorProto(wz, w.zeroPoints, [layout.channels]),
    );
    emit("DequantizeLinear", [wq, ws, wz], [wDq], layout.axis);
    const rest = (node.input ?? []).slice(2);
    const bias = rest[0] ? constants.get(rest[0]) : undefined;
    const biasValues = bias ? floatValues(bias.tensor) : null;
    const betaOne = op !== "Gemm" || attrFloat(node, "beta", 1) === 1;
    if (biasValues && biasValues.length === layout.channels && betaOne) {
      // int32 bias on the product's scale (s_x · s_w per channel), as onnxruntime's quantizer
      // writes it; left float, onnxruntime's optimizer would add an opset-13 DequantizeLinear
      // that an older model cannot hold.
      const { scale: xScale } = activationParams(xRange);
      const bScale = Float32Array.from(w.scales, (ws) => xScale * ws);
      const bq = Int32Array.from(biasValues, (b, c) =>
        Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(b / bScale[c]!))),
      );
      const bqName = unique(`${rest[0]}/quantized`);
      const bsName = unique(`${rest[0]}/scale`);
      const bzName = unique(`${rest[0]}/zero_point`);
      const bDq = unique(`${rest[0]}/dequantized`);
      initializers.push(
        tensorProto(bqName, bq, [layout.channels]),
        tensorProto(bsName, bScale, [layout.channels]),
        tensorProto(bzName, new Int32Array(layout.channels), [layout.channels]),
      );
      emit("DequantizeLinear", [bqName, bsName, bzName], [bDq], 0);
      rest[0] = bDq;
    }
    const raw = unique(`${y}/float`);
    rewritten.push({ ...node, input: [xDq, wDq, ...rest], output: [raw] });
    fakeQuantize(raw, y, yRange);
    // Later readers of y see the dequantized output under its own name.
    dequantized.set(y, y);
    quantized.push({
      node: label,
      op: op as QuantizableOp,
      weight: found.weight,
      elements: found.values.length,
    });
  }
  if (quantized.length === 0) throw nothingToQuantize(skipped);

  // onnxruntime's QDQ optimizer adds Round (opset 11) when it folds a Conv's bias into int32.
  const opset = raiseOpset(model, unique, (t) => initializers.push(t));
  graph.node = rewritten;
  graph.initializer = [...(graph.initializer ?? []), ...initializers];
  if (domain === CONTRIB_DOMAIN && !model.opsetImport?.some((o) => o.domain === CONTRIB_DOMAIN))
    model.opsetImport = [...(model.opsetImport ?? []), { domain: CONTRIB_DOMAIN, version: 1 }];
  if (!keepConstants) dropUnused(graph, constants);
  model.producerName = model.producerName
    ? `${model.producerName} + edgefleet int8 static`
    : "edgefleet int8 static";
  return {
    bytes: onnx.ModelProto.encode(model).finish(),
    quantized,
    skipped,
    opset,
  };
}

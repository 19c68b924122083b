/**
 * Calibration for static quantization: runs the float model in onnxruntime over calibration
 * batches with the activations to quantize exposed as extra outputs, and keeps each one's min and
 * max. Min/max rather than a percentile: the models quantized here are small MLPs and CNNs whose
 * calibration sets are a few hundred rows, where clipping the tails costs more than it saves.
 */
import ort from "onnxruntime-node";
import { onnx } from "../proto.js";
import { QuantizationError } from "./errors.js";
import { decodeModel, FLOAT } from "./graph.js";
import {
  calibrationTensors,
  quantizeStatic,
  type StaticQuantizeOptions,
  type StaticQuantizeResult,
  type TensorRange,
} from "./static.js";

/** Ranges of `tensors` over every batch (graph inputs are read from the feeds themselves). */
export async function calibrate(
  bytes: Uint8Array,
  tensors: readonly string[],
  batches: readonly Record<string, ort.Tensor>[],
): Promise<Map<string, TensorRange>> {
  if (batches.length === 0) throw new QuantizationError("unsupported_model", "no calibration rows");
  const model = decodeModel(bytes);
  const graph = model.graph!;
  const inputs = new Set((graph.input ?? []).map((v) => v.name ?? ""));
  const outputs = new Set((graph.output ?? []).map((v) => v.name ?? ""));
  const exposed = tensors.filter((t) => !inputs.has(t));
  for (const name of exposed) {
    if (!outputs.has(name)) graph.output!.push({ name, type: { tensorType: { elemType: FLOAT } } });
  }
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish(), {
    intraOpNumThreads: 1,
  });
  const ranges = new Map<string, TensorRange>();
  const observe = (name: string, tensor: ort.Tensor | undefined) => {
    if (!tensor || tensor.type !== "float32") return;
    const data = tensor.data as Float32Array;
    const range = ranges.get(name) ?? { min: Infinity, max: -Infinity };
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v < range.min) range.min = v;
      if (v > range.max) range.max = v;
    }
    ranges.set(name, range);
  };
  try {
    for (const feeds of batches) {
      const out = exposed.length > 0 ? await session.run(feeds, exposed) : {};
      for (const name of tensors) observe(name, inputs.has(name) ? feeds[name] : out[name]);
    }
  } finally {
    await session.release();
  }
  // NaN inputs (missing values) never move min/max; a tensor that saw only NaN has no range.
  for (const [name, r] of ranges)
    if (!(Number.isFinite(r.min) && Number.isFinite(r.max))) ranges.delete(name);
  return ranges;
}

/** Calibrates and quantizes in one step. */
export async function quantizeStaticWithCalibration(
  bytes: Uint8Array,
  batches: readonly Record<string, ort.Tensor>[],
  options: StaticQuantizeOptions = {},
): Promise<StaticQuantizeResult> {
  const ranges = await calibrate(bytes, calibrationTensors(bytes, options), batches);
  return quantizeStatic(bytes, ranges, options);
}

import ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { readTextOrientationModel } from "../../examples/text-orientation.js";
import { GraphBuilder } from "../builder.js";
import { buildMlpClassifier } from "../models.js";
import { onnx } from "../proto.js";
import { seededRandom } from "../random.js";
import {
  calibrate,
  calibrationTensors,
  QuantizationError,
  quantizeStatic,
  quantizeStaticWithCalibration,
} from "./index.js";

const random = seededRandom(11);
const floats = (n: number, spread = 1) => Float32Array.from({ length: n }, () => (random() * 2 - 1) * spread);

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, output: string) {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    return (await session.run(feeds))[output]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function relativeError(a: Float32Array, b: Float32Array): number {
  let range = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    range = Math.max(range, Math.abs(a[i]!));
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  }
  return worst / range;
}

const model = (bytes: Uint8Array) => onnx.ModelProto.decode(bytes);
const opTypes = (bytes: Uint8Array) => (model(bytes).graph?.node ?? []).map((n) => n.opType);

describe("static int8 quantization (QDQ), calibrated and checked in onnxruntime", () => {
  it("quantizes an MLP's weights and activations with calibrated ranges, within 8% of float", async () => {
    const mlp = buildMlpClassifier({ inputSize: 12, hiddenSizes: [64, 32], classes: 4, seed: 3 });
    const calibration = [new ort.Tensor("float32", floats(200 * 12, 2), [200, 12])];
    const result = await quantizeStaticWithCalibration(
      mlp.bytes,
      calibration.map((features) => ({ features })),
    );
    expect(result.quantized.map((q) => q.op)).toEqual(["MatMul", "MatMul", "MatMul"]);
    const ops = opTypes(result.bytes);
    // Each MatMul: its input and output quantized and dequantized (Add and Relu sit between
    // them), its weight stored as int8.
    expect(ops.filter((o) => o === "QuantizeLinear")).toHaveLength(6);
    expect(ops.filter((o) => o === "MatMul")).toHaveLength(3);
    const initializers = model(result.bytes).graph!.initializer!;
    expect(initializers.filter((t) => t.dataType === onnx.TensorProto.DataType.INT8).length).toBe(6);
    expect(result.bytes.byteLength).toBeLessThan(mlp.bytes.byteLength * 0.6);
    // Rows the calibration did not see.
    const x = new ort.Tensor("float32", floats(50 * 12, 2), [50, 12]);
    const a = await run(mlp.bytes, { features: x }, "logits");
    const b = await run(result.bytes, { features: x }, "logits");
    // Worst logit over 200 values, relative to the largest: every layer's output is rounded to
    // one of 256 calibrated steps, so static loses more than dynamic (2%) on random weights.
    expect(relativeError(a, b)).toBeLessThan(0.08);
    expect(relativeError(a, b)).toBeGreaterThan(0);
  });

  it("records each activation's range and leaves a node without one in float", async () => {
    const w = floats(8 * 20);
    const g = new GraphBuilder("gemm")
      .input("x", "FP32", ["batch", 20])
      .initializer("w", w, [8, 20])
      .initializer("c", floats(8), [8])
      .node("Gemm", ["x", "w", "c"], ["y"], { transB: 1 })
      .output("y", "FP32", ["batch", 8]);
    const bytes = g.toModel();
    expect(calibrationTensors(bytes)).toEqual(["x", "y"]);
    const x = new ort.Tensor(
      "float32",
      Float32Array.from({ length: 40 }, (_, i) => i / 10 - 1),
      [2, 20],
    );
    const ranges = await calibrate(bytes, ["x", "y"], [{ x }]);
    expect(ranges.get("x")).toEqual({ min: -1, max: Math.fround(2.9) });
    const y = await run(bytes, { x }, "y");
    expect(ranges.get("y")).toEqual({ min: Math.min(...y), max: Math.max(...y) });
    const result = quantizeStatic(bytes, ranges);
    expect(result.quantized).toHaveLength(1);
    expect(relativeError(y, await run(result.bytes, { x }, "y"))).toBeLessThan(0.03);
    expect(() => quantizeStatic(bytes, new Map())).toThrow(/no calibration range/);
  });

  it("quantizes the real image classifier (opset 9 raised to 11, com.microsoft Q/DQ, per-channel Conv weights)", async () => {
    const float = new Uint8Array(await readTextOrientationModel());
    const images = Array.from({ length: 4 }, () => ({
      x: new ort.Tensor("float32", floats(3 * 48 * 192), [1, 3, 48, 192]),
    }));
    const result = await quantizeStaticWithCalibration(float, images);
    expect(result.opset).toEqual({ from: 9, to: 11 });
    expect(result.quantized.filter((q) => q.op === "Conv").length).toBeGreaterThan(50);
    expect(model(result.bytes).opsetImport!.some((o) => o.domain === "com.microsoft")).toBe(true);
    // int8 weights; biases as int32, per-channel scales and the Q/DQ nodes take the rest.
    expect(result.bytes.byteLength).toBeLessThan(float.byteLength * 0.55);
    const a = await run(float, images[0]!, "softmax_0.tmp_0");
    const b = await run(result.bytes, images[0]!, "softmax_0.tmp_0");
    expect(Math.abs(a[0]! - b[0]!)).toBeLessThan(0.1);
  });

  it("refuses what it cannot quantize with a reason", async () => {
    expect(() => calibrationTensors(Uint8Array.of(1, 2, 3))).toThrow(QuantizationError);
    const g = new GraphBuilder("relu")
      .input("x", "FP32", [1, 4])
      .node("Relu", ["x"], ["y"])
      .output("y", "FP32", [1, 4]);
    expect(() => quantizeStatic(g.toModel(), new Map())).toThrow(/no MatMul, Gemm or Conv/);
    await expect(calibrate(g.toModel(), ["x"], [])).rejects.toThrow(/no calibration rows/);
  });
});

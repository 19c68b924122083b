import ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { readTextOrientationModel } from "../../examples/text-orientation.js";
import { GraphBuilder } from "../builder.js";
import { buildMlpClassifier } from "../models.js";
import { onnx } from "../proto.js";
import { seededRandom } from "../random.js";
import { QuantizationError, quantizeDynamic } from "./index.js";

const random = seededRandom(7);
const floats = (n: number, spread = 1) => Float32Array.from({ length: n }, () => (random() * 2 - 1) * spread);

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, output: string) {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    return (await session.run(feeds))[output]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Largest |a - b| relative to the float output's range: the error int8 costs, as a fraction. */
function relativeError(a: Float32Array, b: Float32Array): number {
  let range = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    range = Math.max(range, Math.abs(a[i]!));
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  }
  return worst / range;
}

const opTypes = (bytes: Uint8Array) => (onnx.ModelProto.decode(bytes).graph?.node ?? []).map((n) => n.opType);

describe("dynamic int8 quantization, checked in onnxruntime", () => {
  it("rewrites an MLP's MatMuls to MatMulInteger and stays within 2% of the float outputs", async () => {
    const mlp = buildMlpClassifier({ inputSize: 12, hiddenSizes: [64, 32], classes: 4, seed: 3 });
    const result = quantizeDynamic(mlp.bytes);
    expect(result.quantized.map((q) => q.op)).toEqual(["MatMul", "MatMul", "MatMul"]);
    expect(opTypes(result.bytes)).not.toContain("MatMul");
    expect(opTypes(result.bytes)).toContain("MatMulInteger");
    const x = new ort.Tensor("float32", floats(50 * 12, 2), [50, 12]);
    const a = await run(mlp.bytes, { features: x }, "logits");
    const b = await run(result.bytes, { features: x }, "logits");
    expect(relativeError(a, b)).toBeLessThan(0.02);
    expect(relativeError(a, b)).toBeGreaterThan(0); // it really is a different (integer) computation
  });

  it("honours Gemm's transB, alpha, beta and bias", async () => {
    const w = floats(8 * 20);
    const bias = floats(8);
    const g = new GraphBuilder("gemm")
      .input("x", "FP32", ["batch", 20])
      .initializer("w", w, [8, 20])
      .initializer("c", bias, [8])
      .node("Gemm", ["x", "w", "c"], ["y"], { transB: 1, alpha: { float: 0.5 }, beta: { float: 2 } })
      .output("y", "FP32", ["batch", 8]);
    const model = g.toModel();
    const result = quantizeDynamic(model);
    expect(result.quantized).toHaveLength(1);
    const x = new ort.Tensor("float32", floats(30 * 20), [30, 20]);
    expect(relativeError(await run(model, { x }, "y"), await run(result.bytes, { x }, "y"))).toBeLessThan(
      0.02,
    );
  });

  it("rewrites a grouped Conv with bias to ConvInteger", async () => {
    const g = new GraphBuilder("conv")
      .input("x", "FP32", ["batch", 4, 10, 10])
      .initializer("w", floats(6 * 2 * 3 * 3), [6, 2, 3, 3])
      .initializer("b", floats(6), [6])
      .node("Conv", ["x", "w", "b"], ["y"], { group: 2, pads: [1, 1, 1, 1], kernel_shape: [3, 3] })
      .output("y", "FP32", ["batch", 6, 10, 10]);
    const model = g.toModel();
    const result = quantizeDynamic(model);
    expect(opTypes(result.bytes)).toContain("ConvInteger");
    const x = new ort.Tensor("float32", floats(2 * 4 * 100), [2, 4, 10, 10]);
    expect(relativeError(await run(model, { x }, "y"), await run(result.bytes, { x }, "y"))).toBeLessThan(
      0.03,
    );
  });

  it("quantizes the real image classifier (opset 9 raised to 11, Constant weights) to under half its size", async () => {
    const model = new Uint8Array(await readTextOrientationModel());
    const result = quantizeDynamic(model);
    expect(result.opset).toEqual({ from: 9, to: 11 });
    expect(result.quantized.filter((q) => q.op === "Conv").length).toBeGreaterThan(50);
    expect(result.bytes.byteLength).toBeLessThan(model.byteLength / 2);
    const x = new ort.Tensor("float32", floats(3 * 48 * 192), [1, 3, 48, 192]);
    const a = await run(model, { x }, "softmax_0.tmp_0");
    const b = await run(result.bytes, { x }, "softmax_0.tmp_0");
    expect(Math.abs(a[0]! - b[0]!)).toBeLessThan(0.05);
  });

  it("refuses what it cannot quantize with a reason", () => {
    expect(() => quantizeDynamic(Uint8Array.of(1, 2, 3))).toThrow(QuantizationError);
    const g = new GraphBuilder("relu")
      .input("x", "FP32", [1, 4])
      .node("Relu", ["x"], ["y"])
      .output("y", "FP32", [1, 4]);
    expect(() => quantizeDynamic(g.toModel())).toThrow(/no MatMul, Gemm or Conv/);
    const twoInputs = new GraphBuilder("mm")
      .input("a", "FP32", [2, 4])
      .input("b", "FP32", [4, 3])
      .node("MatMul", ["a", "b"], ["y"])
      .output("y", "FP32", [2, 3]);
    try {
      quantizeDynamic(twoInputs.toModel());
      expect.unreachable();
    } catch (error) {
      expect((error as QuantizationError).reason).toBe("nothing_to_quantize");
      expect((error as Error).message).toMatch(/not a constant/);
    }
  });
});

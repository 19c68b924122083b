/**
 * The hub's int8 measurement on the MLP recipe: train on a real data set, quantize statically
 * (ranges calibrated on training rows) and dynamically, and compare both with the float model on
 * the run's own test split.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../lib/paths.js";
import { onnx } from "../../modules/onnx/proto.js";
import { loadRunDataset } from "../../training/run-data.js";
import { train } from "../../training/train.js";
import { measureInt8 } from "./measure.js";

const source = {
  path: join(projectRoot(), "test", "fixtures", "datasets", "breast-cancer-wisconsin.csv"),
  format: "csv" as const,
};
const spec = { task: "classification" as const, target: "diagnosis", seed: 0 };
let dir: string;
let modelPath: string;
let floatSize: number;

beforeAll(async () => {
  const dataset = await loadRunDataset(source, spec);
  const trained = await train({ dataset, ...spec, recipe: "mlp" });
  dir = await mkdtemp(join(tmpdir(), "edgefleet-int8-"));
  modelPath = join(dir, "model.onnx");
  floatSize = trained.onnx.byteLength;
  await writeFile(modelPath, trained.onnx);
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("int8 measurement of the MLP recipe", () => {
  it("static: weights and activations in int8, within 2% accuracy of float on the test split", async () => {
    const m = await measureInt8({ modelPath, dataset: source, spec, mode: "static" });
    expect(m.mode).toBe("static");
    // 569 rows, 70% train (397 after stratified rounding): every training row calibrates.
    expect(m.calibrationRows).toBe(397);
    expect(m.quantized.MatMul).toBe(2);
    const ops = (onnx.ModelProto.decode(m.bytes).graph?.node ?? []).map((n) => n.opType);
    expect(ops).toContain("QuantizeLinear");
    expect(ops).not.toContain("DynamicQuantizeLinear");
    expect(m.bytes.byteLength).toBeLessThan(floatSize);
    expect(m.testRows).toBe(86);
    expect(m.float).toBeGreaterThan(0.95);
    expect(m.relativeLoss).toBeLessThanOrEqual(0.02);
    expect(m.relativeLoss).toBeCloseTo((m.float - m.int8) / m.float, 12);
  });

  it("dynamic stays the default", async () => {
    const m = await measureInt8({ modelPath, dataset: source, spec });
    expect(m.mode).toBe("dynamic");
    expect(m.calibrationRows).toBeUndefined();
    const ops = (onnx.ModelProto.decode(m.bytes).graph?.node ?? []).map((n) => n.opType);
    expect(ops).toContain("DynamicQuantizeLinear");
  });
});

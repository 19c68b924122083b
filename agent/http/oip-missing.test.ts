/** OIP JSON has no NaN: `null` is NaN in inputs a module declares (runtime.missingAsNaN), refused elsewhere. */
import { InferenceSession, Tensor } from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GraphBuilder } from "../../modules/onnx/builder.js";
import { writeModuleDir } from "../runtime/test-modules.js";
import { call, type Harness, startHarness } from "./test-harness.js";

/** x FP32 [batch, 2] → y: NaN replaced by [0.5, -1] (the imputation trained graphs carry), times 2. */
function imputingModel(): Uint8Array {
  const g = new GraphBuilder("imputing");
  g.input("x", "FP32", ["batch", 2]);
  g.initializer("fill", Float32Array.of(0.5, -1), [2]);
  g.initializer("two", Float32Array.of(2), []);
  g.node("IsNaN", ["x"], ["missing"]);
  g.node("Where", ["missing", "fill", "x"], ["imputed"]);
  g.node("Mul", ["imputed", "two"], ["y"]);
  g.output("y", "FP32", ["batch", 2]);
  return g.toModel({ opset: 17 });
}

let h: Harness;
const bytes = imputingModel();
const spec = {
  inputs: [{ name: "x", datatype: "FP32" as const, shape: [-1, 2] }],
  outputs: [{ name: "y", datatype: "FP32" as const, shape: [-1, 2] }],
};
beforeAll(async () => {
  h = await startHarness([
    await writeModuleDir(bytes, {
      name: "gaps",
      version: "1.0.0",
      ...spec,
      runtime: { missingAsNaN: ["x"] },
    }),
    await writeModuleDir(bytes, { name: "strict", version: "1.0.0", ...spec }),
  ]);
});
afterAll(() => h.close());

const infer = (module: string, data: unknown[]) =>
  call(`${h.server.url}/v2/models/${module}/infer`, "POST", {
    inputs: [{ name: "x", datatype: "FP32", shape: [2, 2], data }],
  });

describe("missing values over OIP", () => {
  it("reads null as NaN where the module allows it, answering what onnxruntime answers for NaN", async () => {
    const reply = await infer("gaps", [1, null, null, 3]);
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const direct = await InferenceSession.create(bytes);
    const want = await direct.run({
      x: new Tensor("float32", Float32Array.of(1, Number.NaN, Number.NaN, 3), [2, 2]),
    });
    await direct.release();
    const got = (reply.body as { outputs: { data: number[] }[] }).outputs[0]!.data;
    expect(got).toEqual(Array.from(want.y!.data as Float32Array));
    expect(got).toEqual([2, -2, 1, 6]);
  });

  it("refuses null with a 400 where the module does not declare missing values, and keeps serving", async () => {
    const reply = await infer("strict", [1, null, 2, 3]);
    expect(reply.status).toBe(400);
    expect(JSON.stringify(reply.body)).toMatch(/element 1 is null, expected a number for FP32/);
    expect((await infer("strict", [1, 2, 3, 4])).status).toBe(200);
  });

  it("still refuses other non-numbers in a module that allows null", async () => {
    const reply = await infer("gaps", [1, "NaN", 2, 3]);
    expect(reply.status).toBe(400);
    expect(JSON.stringify(reply.body)).toMatch(/expected a number or null/);
  });
});

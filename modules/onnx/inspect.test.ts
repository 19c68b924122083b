import { describe, expect, it } from "vitest";
import { GraphBuilder } from "./builder.js";
import { defaultOpset, InvalidModelError, inspectOnnx } from "./inspect.js";
import { buildIdsSumModel, buildMlpClassifier } from "./models.js";
import { onnx } from "./proto.js";
import { seededRandom } from "./random.js";

const mlp = buildMlpClassifier({ inputSize: 5, hiddenSizes: [4], classes: 3, seed: 3 });

function expectInvalid(bytes: Uint8Array, message: RegExp): void {
  let caught: unknown;
  try {
    inspectOnnx(bytes);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidModelError);
  expect((caught as Error).message).toMatch(message);
}

describe("inspectOnnx", () => {
  it("reads versions, inputs without initializers, and outputs with dynamic dims as -1", () => {
    const info = inspectOnnx(mlp.bytes);
    expect(info.irVersion).toBe(8);
    expect(defaultOpset(info)).toBe(17);
    expect(info.inputs).toEqual([{ name: "features", datatype: "FP32", shape: [-1, 5] }]);
    expect(info.outputs).toEqual([{ name: "logits", datatype: "FP32", shape: [-1, 3] }]);
    expect(info.metadata).toEqual({});
  });

  it("maps INT64 tensors", () => {
    const info = inspectOnnx(buildIdsSumModel({ length: 4 }).bytes);
    expect(info.inputs).toEqual([{ name: "ids", datatype: "INT64", shape: [-1, 4] }]);
    expect(info.outputs.map((o) => o.datatype)).toEqual(["FP32", "INT64"]);
  });

  it("drops initializers that old exporters also list as graph inputs", () => {
    const model = onnx.ModelProto.decode(mlp.bytes);
    const graph = model.graph!;
    graph.input = [...(graph.input ?? []), { name: "w0", type: { tensorType: { elemType: 1 } } }];
    const info = inspectOnnx(onnx.ModelProto.encode(model).finish());
    expect(info.inputs.map((i) => i.name)).toEqual(["features"]);
  });

  it("refuses an empty file", () => expectInvalid(new Uint8Array(), /empty/));

  it("refuses a text file", () =>
    expectInvalid(new TextEncoder().encode("name,value\nalpha,1\nbeta,2\n"), /not an ONNX model|no graph/));

  it("refuses random bytes", () => {
    const random = seededRandom(5);
    for (let i = 0; i < 20; i++) {
      const bytes = Uint8Array.from({ length: 64 + i * 13 }, () => Math.floor(random() * 256));
      expect(() => inspectOnnx(bytes)).toThrow(InvalidModelError);
    }
  });

  it("refuses truncated models", () => {
    for (const fraction of [0.1, 0.5, 0.9, 0.99]) {
      expect(() => inspectOnnx(mlp.bytes.subarray(0, Math.floor(mlp.bytes.length * fraction)))).toThrow(
        InvalidModelError,
      );
    }
  });

  it("refuses a model without a graph", () => {
    const bytes = onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: "", version: 17 }],
    }).finish();
    expectInvalid(bytes, /no graph/);
  });

  it("refuses a graph without outputs", () => {
    const model = onnx.ModelProto.decode(mlp.bytes);
    model.graph!.output = [];
    expectInvalid(onnx.ModelProto.encode(model).finish(), /no outputs/);
  });

  it("refuses a graph whose only inputs are initializers", () => {
    const model = onnx.ModelProto.decode(mlp.bytes);
    model.graph!.input = [];
    expectInvalid(onnx.ModelProto.encode(model).finish(), /no inputs/);
  });

  it("refuses unsupported element types and non-tensor inputs", () => {
    const model = onnx.ModelProto.decode(mlp.bytes);
    const input = model.graph!.input![0]!;
    input.type!.tensorType!.elemType = 16; // BFLOAT16
    expectInvalid(onnx.ModelProto.encode(model).finish(), /unsupported element type BFLOAT16/);
    input.type = { sequenceType: { elemType: { tensorType: { elemType: 1 } } } };
    expectInvalid(onnx.ModelProto.encode(model).finish(), /not a tensor/);
  });

  it("reads symbolic and unknown dims as -1", () => {
    const g = new GraphBuilder("dims").input("x", "FP32", ["n", -1, 3]);
    g.node("Identity", ["x"], ["y"]).output("y", "FP32", ["n", -1, 3]);
    expect(inspectOnnx(g.toModel()).inputs[0]!.shape).toEqual([-1, -1, 3]);
  });
});

/**
 * A trained model fits the module format and the agent's friendly score path as it is today:
 * the manifest's tabular preprocessing feeds the `vector` input (no mean/std: the graph scales),
 * a missing feature takes its `default` (the graph's own imputation), and argmax postprocessing
 * reads the `probabilities` output.
 */
import ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { parseManifest } from "../modules/manifest.js";
import { checkManifestAgainstModel } from "../modules/model-checks.js";
import { inspectOnnx } from "../modules/onnx/inspect.js";
import { postprocess } from "../modules/postprocess.js";
import { tabularFeeds } from "../modules/preprocess.js";
import { datasetFromRows } from "./dataset/dataset.js";
import { separableBinary } from "./synthetic.js";
import { train } from "./train.js";

describe("a trained model as a module", () => {
  it("passes the manifest checks and scores JSON rows through tabularFeeds and postprocess", async () => {
    const dataset = datasetFromRows(separableBinary(300, 11), { target: "label", task: "classification" });
    const result = await train({ dataset, task: "classification", target: "label", recipe: "gbt", seed: 1 });
    const info = inspectOnnx(result.onnx);
    const manifest = parseManifest({
      schemaVersion: 1,
      name: "synthetic",
      version: "1.0.0",
      model: { file: "model.onnx", sha256: "0".repeat(64), size: result.onnx.byteLength },
      inputs: info.inputs,
      outputs: info.outputs,
      preprocessing: { kind: "tabular", input: "features", features: result.moduleFeatures },
      postprocessing: {
        kind: "argmax",
        output: "probabilities",
        labels: result.classes,
        applySoftmax: false,
      },
      createdAt: new Date(0).toISOString(),
    });
    expect(checkManifestAgainstModel(manifest, info)).toEqual([]);

    const color = result.features.find((f) => f.name === "color")!;
    const red = color.kind === "categorical" ? color.vocabulary.indexOf("red") : -1;
    const rows = [
      { x1: 2, x2: 2, color: red, noise: 0 },
      { x1: -2, x2: -2, color: red, noise: 0.5 },
      { x1: 2.5, color: red },
    ];
    const feeds = tabularFeeds(manifest, rows);
    const session = await ort.InferenceSession.create(result.onnx);
    const input = feeds.features!;
    const outputs = await session.run({ features: new ort.Tensor("float32", input.data, input.shape) });
    const predictions = postprocess(manifest.postprocessing, outputs, rows.length);
    expect(predictions.map((p) => (p as { label: string }).label)).toEqual(["yes", "no", "yes"]);
    await session.release();
  });
});

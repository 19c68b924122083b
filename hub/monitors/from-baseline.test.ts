import { describe, expect, it } from "vitest";
import { baselineIdOf } from "../../drift-summary/monitoring.js";
import { parseManifest } from "../../modules/manifest.js";
import { minimalManifestFields as manifestFields } from "../../modules/manifest-fixture.js";
import { datasetFromRows } from "../../training/dataset/dataset.js";
import { VECTOR_INPUT } from "../../training/features/inputs.js";
import { separableBinary } from "../../training/synthetic.js";
import { train } from "../../training/train.js";
import { OUTPUTS } from "../../training/trainers/heads.js";
import { monitoringFromBaseline, TRAINED_MODEL_TENSORS } from "./from-baseline.js";

describe("monitoring from a training baseline", () => {
  it("names the tensors training exports", () => {
    expect(TRAINED_MODEL_TENSORS).toEqual({ vectorInput: VECTOR_INPUT, ...OUTPUTS });
  });

  it("is built from a trained classifier's baseline: the same bins and counts, kinds declared", async () => {
    const dataset = datasetFromRows(separableBinary(300, 4), { target: "label", task: "classification" });
    const result = await train({
      dataset,
      task: "classification",
      target: "label",
      recipe: "logistic",
      seed: 2,
    });
    const monitoring = monitoringFromBaseline(result.baseline, {
      samples: { allowed: true, maxPerWindow: 5 },
    });
    expect(monitoring.columns.map((c) => [c.name, c.kind, c.source])).toEqual(
      result.baseline.features.map((f, index) => [
        f.name,
        f.kind === "numeric" ? "numeric" : "categorical",
        { input: "features", index },
      ]),
    );
    const x2 = result.baseline.features[1]!;
    const column = monitoring.columns[1]!;
    if (x2.kind !== "numeric" || column.kind !== "numeric") throw new Error("x2 is numeric");
    expect(column.edges).toEqual(x2.edges);
    expect(column.reference.counts).toEqual(x2.counts);
    expect(column.reference.missing).toBe(x2.missing);
    const output = result.baseline.output;
    if (output.kind !== "probabilities") throw new Error("a classifier");
    expect(monitoring.outputs.map((c) => c.name)).toEqual([
      ...output.classes.map((c) => `p(${c})`),
      "predicted",
    ]);
    expect(monitoring.outputs.at(-1)).toMatchObject({
      kind: "categorical",
      source: { output: "label" },
      vocabulary: output.classes,
      reference: { counts: output.predicted },
    });
    expect(monitoring.samples).toEqual({ allowed: true, maxPerWindow: 5 });
    expect(monitoring.baselineId).toBe(baselineIdOf(monitoring));
    // It validates as part of a manifest for the exported model.
    const manifest = parseManifest({
      ...manifestFields,
      inputs: [{ name: "features", datatype: "FP32", shape: [-1, result.features.length] }],
      outputs: [
        { name: "label", datatype: "INT64", shape: [-1] },
        { name: "probabilities", datatype: "FP32", shape: [-1, output.classes.length] },
      ],
      monitoring,
    });
    expect(manifest.monitoring?.baselineId).toBe(monitoring.baselineId);
  });
});

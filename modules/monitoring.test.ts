import { describe, expect, it } from "vitest";
import { datasetFromRows } from "../training/dataset/dataset.js";
import { VECTOR_INPUT } from "../training/features/inputs.js";
import { separableBinary } from "../training/synthetic.js";
import { train } from "../training/train.js";
import { OUTPUTS } from "../training/trainers/heads.js";
import { parseManifest } from "./manifest.js";
import {
  baselineIdOf,
  canonicalJson,
  type MonitoringInput,
  MonitoringSchema,
  monitoringFromBaseline,
  TRAINED_MODEL_TENSORS,
} from "./monitoring.js";

function spec(overrides: Partial<MonitoringInput> = {}): MonitoringInput {
  const body = {
    columns: [
      {
        name: "x",
        kind: "numeric" as const,
        source: { input: "features", index: 0 },
        edges: [0, 1, 2],
        reference: { counts: [5, 5], missing: 0, below: 0, above: 0, count: 10, mean: 1, std: 0.5 },
      },
    ],
    outputs: [
      {
        name: "predicted",
        kind: "categorical" as const,
        source: { output: "logits", argmax: true as const },
        vocabulary: ["a", "b"],
        reference: { counts: [4, 6], unseen: 0, missing: 0, count: 10 },
      },
    ],
  };
  const merged = { ...body, ...overrides };
  return { baselineId: baselineIdOf(merged), ...merged };
}

const manifestFields = {
  schemaVersion: 1,
  name: "m",
  version: "1.0.0",
  model: { file: "model.onnx", sha256: "a".repeat(64), size: 1 },
  inputs: [{ name: "features", datatype: "FP32", shape: [-1, 1] }],
  outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 2] }],
  createdAt: new Date(0).toISOString(),
};

describe("monitoring section", () => {
  it("parses with defaults (minRows 20, samples off unless given)", () => {
    const parsed = MonitoringSchema.parse(spec());
    expect(parsed.minRows).toBe(20);
    expect(parsed.samples).toBeUndefined();
    expect(MonitoringSchema.parse({ ...spec(), samples: { allowed: true } }).samples).toEqual({
      allowed: true,
      maxPerWindow: 20,
    });
  });

  it("refuses bins that do not line up, unordered edges, a numeric argmax and a wrong baselineId", () => {
    const bad = (overrides: Partial<MonitoringInput>, message: RegExp) => {
      const result = MonitoringSchema.safeParse(spec(overrides));
      expect(result.success).toBe(false);
      expect(result.error?.message).toMatch(message);
    };
    const x = spec().columns[0]!;
    bad({ columns: [{ ...x, edges: [0, 2, 1] } as typeof x] }, /increase strictly/);
    bad({ columns: [{ ...x, edges: [0, 1, 2, 3] } as typeof x] }, /reference.counts needs 3/);
    bad({ columns: [{ ...x, source: { output: "logits", argmax: true } }] }, /must be categorical/);
    bad({ columns: [x, x] }, /appears twice/);
    expect(MonitoringSchema.safeParse({ ...spec(), baselineId: "b".repeat(64) }).error?.message).toMatch(
      /baselineId/,
    );
  });

  it("is part of the manifest, cross-checked against the model's tensors", () => {
    expect(parseManifest({ ...manifestFields, monitoring: spec() }).monitoring?.minRows).toBe(20);
    const x = spec().columns[0]!;
    const wrong = spec({ columns: [{ ...x, source: { input: "nope" } }] });
    expect(() => parseManifest({ ...manifestFields, monitoring: wrong })).toThrow(
      /nope.{0,8} is not a model input/,
    );
    // Manifests without it (every module before) still parse.
    expect(parseManifest(manifestFields).monitoring).toBeUndefined();
  });

  it("canonical JSON sorts keys at every level and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined, b: null }] })).toBe(
      '{"a":[{"b":null,"d":2}],"b":1}',
    );
  });

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

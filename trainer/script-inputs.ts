/**
 * What a script job finds on disk: the dataset file as uploaded (plus extra rows), `schema.json`
 * (features in input order with kind, training mean/std and vocabulary, target, task, classes, the
 * model's input/output convention), `split.json` (row indices of each part, the same split the hub
 * evaluates on), and `vectors.csv` (every row already in the model's vector convention, so a script
 * needs no encoding code of its own). Built with training's own `prepare`, so the vocabulary
 * codes and the split are exactly those the hub uses to evaluate the script's ONNX model.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { RunSpec } from "../hub-api/training.js";
import { DEFAULT_SPLIT } from "../training/dataset/split.js";
import { feedsFromColumns, moduleFeatures, VECTOR_INPUT } from "../training/features/inputs.js";
import { prepare } from "../training/prepare.js";
import { OUTPUTS } from "../training/trainers/heads.js";
import { type JobData, runDataSpec } from "./job-data.js";

/** The target column's name in vectors.csv (a class index for classification). */
export const VECTOR_TARGET_COLUMN = "__target__";

export interface ScriptInputs {
  dataPath: string;
  /** JSON Lines rows that follow the dataset's (row indices continue after its last row). */
  extraRowsPath?: string;
  schemaPath: string;
  splitPath: string;
  vectorsPath: string;
  /** What the worker reports as the model's features and classes. */
  features: ReturnType<typeof moduleFeatures>;
  classes: string[];
  testRows: number[];
}

const number = (value: number) => (Number.isNaN(value) ? "nan" : String(value));

/** Writes the job's input files into `dir`. Throws DatasetError/TrainingError as `train()` would. */
export async function writeScriptInputs(dir: string, data: JobData, spec: RunSpec): Promise<ScriptInputs> {
  const { seed, split = DEFAULT_SPLIT, maxCategories } = runDataSpec(spec);
  const prepared = prepare(data.dataset, {
    task: spec.task,
    target: spec.target,
    seed,
    split,
    ...(maxCategories !== undefined ? { maxCategories } : {}),
  });
  const { encoder, classes } = prepared;
  const rows = Uint32Array.from({ length: data.dataset.rows }, (_, i) => i);
  const feed = feedsFromColumns(encoder, prepared.features, rows, "vector")[VECTOR_INPUT]!;
  const width = encoder.features.length;
  const values = feed.data as Float32Array;

  const dataPath = join(dir, `data.${data.format}`);
  const extraRowsPath = data.extraRows ? join(dir, "extra-rows.jsonl") : undefined;
  const schemaPath = join(dir, "schema.json");
  const splitPath = join(dir, "split.json");
  const vectorsPath = join(dir, "vectors.csv");

  const lines = [
    [...encoder.features.map((f) => f.name), VECTOR_TARGET_COLUMN].map((n) => JSON.stringify(n)).join(","),
  ];
  for (let r = 0; r < data.dataset.rows; r++) {
    const cells: string[] = [];
    for (let j = 0; j < width; j++) cells.push(number(values[r * width + j]!));
    cells.push(number(prepared.y[r]!));
    lines.push(cells.join(","));
  }

  const schema = {
    schemaVersion: 1,
    task: spec.task,
    target: spec.target,
    classes,
    rows: data.dataset.rows,
    format: data.format,
    data: { path: dataPath, format: data.format, ...(extraRowsPath ? { extraRowsPath } : {}) },
    seed,
    split: {
      ...split,
      path: splitPath,
      rows: {
        train: prepared.split.train.length,
        validation: prepared.split.validation.length,
        test: prepared.split.test.length,
      },
    },
    columns: data.dataset.schema.map((c) => ({ name: c.name, kind: c.kind })),
    features: encoder.features.map((f, index) =>
      f.kind === "categorical"
        ? { index, name: f.name, kind: f.kind, vocabulary: f.vocabulary }
        : { index, name: f.name, kind: f.kind, mean: f.mean, std: f.std },
    ),
    input: { name: VECTOR_INPUT, datatype: "FP32", shape: ["batch", width] },
    outputs:
      spec.task === "classification"
        ? [
            { name: OUTPUTS.label, datatype: "INT64", shape: ["batch"] },
            { name: OUTPUTS.probabilities, datatype: "FP32", shape: ["batch", classes.length] },
          ]
        : [{ name: OUTPUTS.prediction, datatype: "FP32", shape: ["batch", 1] }],
    vectors: { path: vectorsPath, target: VECTOR_TARGET_COLUMN },
  };
  const splitFile = {
    train: Array.from(prepared.split.train),
    validation: Array.from(prepared.split.validation),
    test: Array.from(prepared.split.test),
  };
  await Promise.all([
    writeFile(dataPath, data.bytes),
    ...(extraRowsPath && data.extraRows ? [writeFile(extraRowsPath, data.extraRows)] : []),
    writeFile(schemaPath, `${JSON.stringify(schema, null, 2)}\n`),
    writeFile(splitPath, `${JSON.stringify(splitFile)}\n`),
    writeFile(vectorsPath, `${lines.join("\n")}\n`),
  ]);
  return {
    dataPath,
    ...(extraRowsPath ? { extraRowsPath } : {}),
    schemaPath,
    splitPath,
    vectorsPath,
    features: moduleFeatures(encoder),
    classes,
    testRows: splitFile.test,
  };
}

/**
 * What a training run and the hub's check of its model share: the run's dataset (the version's
 * bytes, optionally with JSON Lines rows appended) and its test split in the model's input
 * convention. The worker trains on `loadRunDataset`; the hub re-derives the same split with the
 * same seed and fractions, so both name the same rows without shipping indices.
 */
import { sha256Hex } from "../lib/files.js";
import { type Dataset, datasetFromTable } from "./dataset/dataset.js";
import { type DatasetLimits, type DatasetSource, type RawTable, readTable } from "./dataset/read.js";
import type { ColumnOverride, Task } from "./dataset/schema.js";
import type { SplitFractions } from "./dataset/split.js";
import { DatasetError } from "./errors.js";
import type { FeatureSpec } from "./features/encoder.js";
import { feedsFromColumns, moduleFeatures, type RawFeed } from "./features/inputs.js";
import { type Prepared, prepare } from "./prepare.js";

/** The parts of a run spec that decide the data and the split. */
export interface RunDataSpec {
  task: Task;
  target: string;
  seed: number;
  split?: SplitFractions;
  overrides?: Record<string, ColumnOverride>;
  maxCategories?: number;
}

/** Appends `extra`'s rows to `base` by column name; both must have the same columns. */
function appendRows(base: RawTable, extra: RawTable): RawTable {
  const missing = base.columns.filter((c) => !extra.columns.includes(c));
  const unknown = extra.columns.filter((c) => !base.columns.includes(c));
  if (missing.length > 0 || unknown.length > 0) {
    throw new DatasetError(
      "ragged",
      `the extra rows' columns differ from the dataset's (missing: ${missing.join(", ") || "none"}; unknown: ${unknown.join(", ") || "none"})`,
    );
  }
  const index = new Map(extra.columns.map((c, i) => [c, i]));
  return {
    format: base.format,
    columns: base.columns,
    cells: base.columns.map((c, i) => [...base.cells[i]!, ...extra.cells[index.get(c)!]!]),
    rows: base.rows + extra.rows,
    bytes: base.bytes + extra.bytes,
    // A new version id: the data differs from the dataset version alone.
    sha256: sha256Hex(base.sha256 + extra.sha256),
  };
}

/** The run's dataset: the version's bytes typed with the spec's target/task/overrides, plus extra rows. */
export async function loadRunDataset(
  source: DatasetSource,
  spec: RunDataSpec,
  options: { extraRows?: Uint8Array; limits?: Partial<DatasetLimits> } = {},
): Promise<Dataset> {
  const schema = {
    target: spec.target,
    task: spec.task,
    ...(spec.overrides ? { overrides: spec.overrides } : {}),
  };
  const limits = options.limits ? { limits: options.limits } : {};
  let table = await readTable(source, limits);
  if (options.extraRows !== undefined && options.extraRows.byteLength > 0) {
    table = appendRows(table, await readTable({ bytes: options.extraRows, format: "jsonl" }, limits));
  }
  return datasetFromTable(table, schema);
}

export interface TestSplit {
  /** Dataset row indices of the test split, ascending. */
  rows: Uint32Array;
  /** The `vector` input for those rows, one batch. */
  feeds: Record<string, RawFeed>;
  /** Target per test row: a class index (into `classes`) or a number. */
  y: Float64Array;
  classes: string[];
  /** The features in input order, as the trainer learned them. */
  features: FeatureSpec[];
  /** Manifest tabular features for the agent's score route. */
  moduleFeatures: ReturnType<typeof moduleFeatures>;
  /** Everything `prepare` built (the encoder, the whole split), e.g. for a baseline profile. */
  prepared: Prepared;
}

/** The test split exactly as `train()` evaluates it (same seed, fractions and vocabulary cap). */
export function testSplit(dataset: Dataset, spec: RunDataSpec): TestSplit {
  const prepared = prepare(dataset, {
    task: spec.task,
    target: spec.target,
    seed: spec.seed,
    ...(spec.split !== undefined ? { split: spec.split } : {}),
    ...(spec.maxCategories !== undefined ? { maxCategories: spec.maxCategories } : {}),
  });
  return {
    rows: prepared.split.test,
    feeds: feedsFromColumns(prepared.encoder, prepared.features, prepared.split.test, "vector"),
    y: prepared.test.y,
    classes: prepared.classes,
    features: prepared.encoder.features,
    moduleFeatures: moduleFeatures(prepared.encoder),
    prepared,
  };
}

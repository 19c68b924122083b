/**
 * A dataset version: parsed, typed and summarised. Its id is the sha256 of the uploaded bytes, so
 * the same file always is the same version and any change is a new one.
 */
import { sha256Hex } from "../../lib/files.js";
import { DatasetError } from "../errors.js";
import type { Cell } from "./jsonl.js";
import {
  type DatasetFormat,
  type DatasetSource,
  type RawTable,
  type ReadOptions,
  readTable,
} from "./read.js";
import {
  applySchema,
  type ColumnSchema,
  inferSchema,
  type SchemaOptions,
  type TypedColumn,
} from "./schema.js";
import { type ColumnStats, columnStats } from "./stats.js";

export interface Dataset {
  /** sha256 (lowercase hex) of the source bytes: the version id. */
  version: string;
  format: DatasetFormat;
  bytes: number;
  rows: number;
  /** Every column of the file, with its kind (ignored ones included). */
  schema: ColumnSchema[];
  /** Typed values of the columns that are not ignored. */
  columns: TypedColumn[];
  stats: ColumnStats[];
}

export interface LoadDatasetOptions extends ReadOptions, SchemaOptions {}

/** Reads, types and summarises a dataset; every refusal is a DatasetError with a code. */
export async function loadDataset(source: DatasetSource, options: LoadDatasetOptions = {}): Promise<Dataset> {
  return datasetFromTable(await readTable(source, options), options);
}

/**
 * Builds a dataset from row objects already in memory (generated data, tests). The version is the
 * sha256 of the rows written as JSON Lines, so it matches uploading that file.
 */
export function datasetFromRows(rows: readonly Record<string, Cell>[], options: SchemaOptions = {}): Dataset {
  if (rows.length === 0) throw new DatasetError("empty", "the dataset has no rows");
  const columns = Object.keys(rows[0]!);
  const text = `${rows.map((row) => JSON.stringify(row)).join("\n")}\n`;
  const cells = columns.map((column) =>
    rows.map((row, r) => {
      if (!Object.hasOwn(row, column)) {
        throw new DatasetError("ragged", `row ${r + 1} has no "${column}"`, { row: r + 1, column });
      }
      return row[column]!;
    }),
  );
  const table: RawTable = {
    format: "jsonl",
    columns,
    cells,
    rows: rows.length,
    bytes: Buffer.byteLength(text),
    sha256: sha256Hex(text),
  };
  return datasetFromTable(table, options);
}

/** Types and summarises an already parsed table (e.g. a file with extra rows appended). */
export function datasetFromTable(table: RawTable, options: SchemaOptions): Dataset {
  const schema = inferSchema(table, options);
  const columns = applySchema(table, schema);
  if (options.target !== undefined) checkTarget(columns, options.target);
  if (!columns.some((c) => c.name !== options.target)) {
    throw new DatasetError("empty", "the dataset has no usable feature columns besides the target");
  }
  return {
    version: table.sha256,
    format: table.format,
    bytes: table.bytes,
    rows: table.rows,
    schema,
    columns,
    stats: columns.map(columnStats),
  };
}

/** A target needs a value in every row, and a classification target at least two classes. */
function checkTarget(columns: TypedColumn[], target: string): void {
  const column = columns.find((c) => c.name === target)!;
  const missingRow =
    column.kind === "numeric" || column.kind === "boolean"
      ? column.values.findIndex((v) => Number.isNaN(v))
      : (column.values as (string | null)[]).indexOf(null);
  if (missingRow !== -1) {
    throw new DatasetError(
      "bad_target",
      `the target "${target}" is missing in data row ${missingRow + 1}; every row needs a target value`,
      { row: missingRow + 1, column: target },
    );
  }
  if (column.kind === "label" && new Set(column.values).size < 2) {
    throw new DatasetError(
      "bad_target",
      `the target "${target}" has a single class; classification needs two`,
    );
  }
}

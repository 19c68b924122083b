/**
 * Dataset bytes → a raw table (column names, cells per column), its sha256 (the dataset version)
 * and size, under byte and row limits. Files are streamed: the size is checked before reading,
 * rows are counted while parsing, and reading stops at the first limit or format problem.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { DatasetError } from "../errors.js";
import { CsvParser } from "./csv.js";
import { type Cell, JsonlParser } from "./jsonl.js";

export type DatasetFormat = "csv" | "jsonl";

/** Upper bounds on what a dataset may hold; the hub configures them. */
export interface DatasetLimits {
  /** Largest file, in bytes. */
  maxBytes: number;
  /** Most data rows (the CSV header is not a row). */
  maxRows: number;
}

/** 256 MiB and 2 million rows: what the in-process trainers handle in memory comfortably. */
export const DEFAULT_DATASET_LIMITS: DatasetLimits = { maxBytes: 256 * 1024 * 1024, maxRows: 2_000_000 };
/**
 * For data the hub already accepted (the limits applied at upload): a run's dataset plus the rows
 * its devices collected may legitimately go past the upload limits, and every reader of the same
 * run (the trainer worker, the hub's completion check) must agree on its rows.
 */
export const NO_DATASET_LIMITS: DatasetLimits = {
  maxBytes: Number.MAX_SAFE_INTEGER,
  maxRows: Number.MAX_SAFE_INTEGER,
};

/** CSV cells that mean "missing" (compared after trimming). JSON Lines uses `null`. */
export const DEFAULT_MISSING_TOKENS = ["", "NA", "N/A", "NaN", "nan", "null", "NULL"];

/** Where the data comes from: bytes in memory or a file path. */
export type DatasetSource =
  | { bytes: Uint8Array; format?: DatasetFormat }
  | { path: string; format?: DatasetFormat };

export interface ReadOptions {
  limits?: Partial<DatasetLimits>;
  missingTokens?: string[];
}

/** A parsed file before typing: cells per column (`cells[column][row]`). */
export interface RawTable {
  format: DatasetFormat;
  columns: string[];
  cells: Cell[][];
  rows: number;
  bytes: number;
  /** sha256 of the file's bytes, lowercase hex: the dataset version id. */
  sha256: string;
}

/** The format named by the source, by the path's extension, or sniffed from the first character. */
function formatOf(source: DatasetSource, firstText: string): DatasetFormat {
  if (source.format !== undefined) return source.format;
  if ("path" in source) {
    if (/\.csv$/i.test(source.path)) return "csv";
    if (/\.(jsonl|ndjson)$/i.test(source.path)) return "jsonl";
  }
  return firstText.trimStart().startsWith("{") ? "jsonl" : "csv";
}

/** A parser that fills a RawTable; `write`/`end` as the underlying streaming parser. */
function tableBuilder(format: DatasetFormat, limits: DatasetLimits, missing: Set<string>) {
  let columns: string[] | undefined;
  let cells: Cell[][] = [];
  let rows = 0;
  const setHeader = (names: string[]) => {
    const seen = new Set<string>();
    names.forEach((name, i) => {
      if (name.trim() === "") throw new DatasetError("format", `column ${i + 1} has an empty name`);
      if (seen.has(name)) throw new DatasetError("format", `column "${name}" appears twice in the header`);
      seen.add(name);
    });
    columns = names;
    cells = names.map(() => []);
  };
  const addRow = (values: Cell[], line: number) => {
    if (values.length !== columns!.length) {
      throw new DatasetError(
        "ragged",
        `line ${line} has ${values.length} fields; the header has ${columns!.length}`,
        { row: line },
      );
    }
    if (++rows > limits.maxRows) {
      throw new DatasetError("too_large", `the dataset has more than ${limits.maxRows} rows (the limit)`);
    }
    values.forEach((value, c) => {
      cells[c]!.push(typeof value === "string" && missing.has(value.trim()) ? null : value);
    });
  };
  const parser =
    format === "csv"
      ? new CsvParser((fields, line) => (columns === undefined ? setHeader(fields) : addRow(fields, line)))
      : new JsonlParser(setHeader, addRow);
  return {
    parser,
    finish: () => {
      if (columns === undefined) throw new DatasetError("empty", "the dataset is empty");
      if (rows === 0) throw new DatasetError("empty", "the dataset has a header but no data rows");
      return { columns, cells, rows };
    },
  };
}

/** Reads and parses a dataset; refuses empty, malformed, ragged and oversized input with a DatasetError. */
export async function readTable(source: DatasetSource, options: ReadOptions = {}): Promise<RawTable> {
  const limits = { ...DEFAULT_DATASET_LIMITS, ...options.limits };
  const missing = new Set(options.missingTokens ?? DEFAULT_MISSING_TOKENS);
  const tooBig = (bytes: number) =>
    new DatasetError("too_large", `the dataset is ${bytes} bytes; the limit is ${limits.maxBytes}`);
  const size = "bytes" in source ? source.bytes.byteLength : (await stat(source.path)).size;
  if (size === 0) throw new DatasetError("empty", "the dataset is empty (0 bytes)");
  if (size > limits.maxBytes) throw tooBig(size);

  const hash = createHash("sha256");
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let builder: ReturnType<typeof tableBuilder> | undefined;
  let format: DatasetFormat | undefined;
  let bytes = 0;
  const consume = (chunk: Uint8Array, last: boolean) => {
    bytes += chunk.byteLength;
    if (bytes > limits.maxBytes) throw tooBig(bytes);
    hash.update(chunk);
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: !last });
    } catch {
      throw new DatasetError("format", "the dataset is not valid UTF-8 text");
    }
    if (builder === undefined) {
      // Leading whitespace cannot tell the format apart; a file of only whitespace is empty.
      if (text.trim() === "") return;
      format = formatOf(source, text);
      builder = tableBuilder(format, limits, missing);
    }
    builder.parser.write(text);
  };
  if ("bytes" in source) consume(source.bytes, true);
  else {
    // Small chunks keep memory flat; the parsers carry state across chunk boundaries.
    for await (const chunk of createReadStream(source.path, { highWaterMark: 1 << 20 })) {
      consume(chunk as Buffer, false);
    }
    consume(new Uint8Array(0), true);
  }
  if (builder === undefined) throw new DatasetError("empty", "the dataset holds only whitespace");
  builder.parser.end();
  const table = builder.finish();
  return { format: format!, ...table, bytes, sha256: hash.digest("hex") };
}

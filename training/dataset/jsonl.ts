/**
 * A streaming JSON Lines parser: one JSON object per line, scalar values only (number, string,
 * boolean, null). Blank lines are skipped. Every object must have the same keys as the first one:
 * a missing value is written as `null`, never by leaving the key out (that is a ragged row).
 */
import { DatasetError } from "../errors.js";

/** A cell as the file gave it; CSV cells are always strings (or null when missing). */
export type Cell = string | number | boolean | null;

/** Receives each object's values in the order of `columns` and its 1-based line number. */
export type JsonlRecordHandler = (values: Cell[], line: number) => void;

/** Incremental JSON Lines parser: `write` chunks, then `end`. */
export class JsonlParser {
  #pending = "";
  #line = 0;
  #columns: string[] | undefined;

  /** `onHeader` runs once with the first object's keys; `onRecord` for every object. */
  constructor(
    private readonly onHeader: (columns: string[]) => void,
    private readonly onRecord: JsonlRecordHandler,
  ) {}

  /** Feeds the next chunk of text. */
  write(chunk: string): void {
    const text = this.#pending + chunk;
    let start = 0;
    for (let nl = text.indexOf("\n", start); nl !== -1; nl = text.indexOf("\n", start)) {
      this.#parseLine(text.slice(start, nl));
      start = nl + 1;
    }
    this.#pending = text.slice(start);
  }

  /** Parses the last line (a file need not end with a newline). */
  end(): void {
    if (this.#pending.length > 0) this.#parseLine(this.#pending);
    this.#pending = "";
  }

  #parseLine(raw: string): void {
    this.#line++;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new DatasetError("format", `JSON Lines line ${this.#line}: ${(error as Error).message}`, {
        row: this.#line,
      });
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new DatasetError("format", `JSON Lines line ${this.#line}: expected an object`, {
        row: this.#line,
      });
    }
    const record = value as Record<string, unknown>;
    if (this.#columns === undefined) {
      this.#columns = Object.keys(record);
      if (this.#columns.length === 0) {
        throw new DatasetError("format", `JSON Lines line ${this.#line}: the first object has no keys`);
      }
      this.onHeader(this.#columns);
    }
    const columns = this.#columns;
    const keys = Object.keys(record);
    if (
      keys.length !== columns.length ||
      keys.some((key) => !Object.hasOwn(record, key) || !columns.includes(key))
    ) {
      const missing = columns.filter((c) => !Object.hasOwn(record, c));
      const extra = keys.filter((k) => !columns.includes(k));
      throw new DatasetError(
        "ragged",
        `JSON Lines line ${this.#line}: keys differ from the first object` +
          (missing.length > 0 ? `; missing ${missing.map((m) => `"${m}"`).join(", ")} (write null)` : "") +
          (extra.length > 0 ? `; unexpected ${extra.map((m) => `"${m}"`).join(", ")}` : ""),
        { row: this.#line },
      );
    }
    const values = columns.map((column) => {
      const cell = record[column];
      if (cell === null || typeof cell === "string" || typeof cell === "boolean") return cell;
      if (typeof cell === "number" && Number.isFinite(cell)) return cell;
      throw new DatasetError(
        "bad_value",
        `JSON Lines line ${this.#line}: "${column}" must be a number, string, boolean or null`,
        { row: this.#line, column },
      );
    });
    this.onRecord(values, this.#line);
  }
}

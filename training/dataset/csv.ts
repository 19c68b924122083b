/**
 * A streaming RFC 4180 CSV parser: quoted fields may hold commas, line breaks and doubled quotes;
 * records end with CRLF or LF (a lone CR is accepted too). Text arrives in chunks of any size, so a
 * large upload is parsed without holding a second copy of it. Completely empty lines are skipped
 * (a trailing newline, blank lines between blocks); a record with fields is never dropped.
 */
import { DatasetError } from "../errors.js";

type State = "fieldStart" | "unquoted" | "quoted" | "quoteInQuoted" | "afterCr";

/** Receives each record's fields and its 1-based line number (where the record starts). */
export type CsvRecordHandler = (fields: string[], line: number) => void;

/** Incremental CSV parser: `write` chunks, then `end`. */
export class CsvParser {
  #state: State = "fieldStart";
  #field = "";
  #fields: string[] = [];
  /** Whether the current record has any content (so an empty line can be told from `""`). */
  #touched = false;
  #line = 1;
  #recordLine = 1;
  #first = true;

  /** `onRecord` runs synchronously for every complete record. */
  constructor(private readonly onRecord: CsvRecordHandler) {}

  /** Feeds the next chunk of text. */
  write(chunk: string): void {
    let text = chunk;
    // A UTF-8 byte order mark is not part of the first header name.
    if (this.#first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.#first = false;
    }
    for (let i = 0; i < text.length; i++) this.#step(text[i]!);
  }

  /** Flushes the last record; throws when a quoted field is still open. */
  end(): void {
    if (this.#state === "quoted") {
      throw new DatasetError(
        "format",
        `CSV: a quoted field opened on line ${this.#recordLine} never closes`,
        {
          row: this.#recordLine,
        },
      );
    }
    if (this.#state !== "afterCr") this.#endRecord();
  }

  #step(ch: string): void {
    switch (this.#state) {
      case "afterCr":
        this.#state = "fieldStart";
        if (ch === "\n") return;
        this.#step(ch);
        return;
      case "quoted":
        if (ch === '"') this.#state = "quoteInQuoted";
        else {
          if (ch === "\n") this.#line++;
          this.#field += ch;
        }
        return;
      case "quoteInQuoted":
        if (ch === '"') {
          this.#field += '"';
          this.#state = "quoted";
          return;
        }
        if (ch !== "," && ch !== "\n" && ch !== "\r") {
          throw new DatasetError(
            "format",
            `CSV line ${this.#line}: text after a closing quote (quotes inside a quoted field are doubled: "")`,
            { row: this.#line },
          );
        }
        this.#delimiter(ch);
        return;
      case "fieldStart":
        if (ch === '"') {
          this.#touched = true;
          this.#state = "quoted";
          return;
        }
        this.#state = "unquoted";
        this.#step(ch);
        return;
      case "unquoted":
        if (ch === "," || ch === "\n" || ch === "\r") {
          this.#delimiter(ch);
          return;
        }
        if (ch === '"') {
          throw new DatasetError(
            "format",
            `CSV line ${this.#line}: a quote inside an unquoted field (quote the whole field and double the quote)`,
            { row: this.#line },
          );
        }
        this.#touched = true;
        this.#field += ch;
        return;
    }
  }

  #delimiter(ch: string): void {
    if (ch === ",") {
      this.#touched = true;
      this.#fields.push(this.#field);
      this.#field = "";
      this.#state = "fieldStart";
      return;
    }
    this.#endRecord();
    this.#line++;
    this.#recordLine = this.#line;
    this.#state = ch === "\r" ? "afterCr" : "fieldStart";
  }

  #endRecord(): void {
    if (this.#touched) {
      this.#fields.push(this.#field);
      this.onRecord(this.#fields, this.#recordLine);
    }
    this.#fields = [];
    this.#field = "";
    this.#touched = false;
  }
}

/** Parses a whole CSV text into records (tests and small inputs). */
export function parseCsvText(text: string): string[][] {
  const records: string[][] = [];
  const parser = new CsvParser((fields) => records.push(fields));
  parser.write(text);
  parser.end();
  return records;
}

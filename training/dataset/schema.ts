/**
 * Column types: inferred from the cells, overridable per column, then applied to give typed
 * columns (numbers as Float64Array with NaN for missing; categories as strings or null).
 * Kinds: numeric, boolean (true/false), categorical, label (a classification target) and ignore.
 */
import { DatasetError } from "../errors.js";
import type { Cell } from "./jsonl.js";
import type { RawTable } from "./read.js";

export type ColumnKind = "numeric" | "boolean" | "categorical" | "label" | "ignore";
/** What a caller may force a column to be (the target's kind follows from the task). */
export type ColumnOverride = Exclude<ColumnKind, "label">;
/** Every ColumnOverride, for validating a caller's overrides. */
export const COLUMN_OVERRIDES = [
  "numeric",
  "boolean",
  "categorical",
  "ignore",
] as const satisfies readonly ColumnOverride[];
export type Task = "classification" | "regression";

export interface ColumnSchema {
  name: string;
  kind: ColumnKind;
  /** False when the caller chose the kind. */
  inferred: boolean;
  /** Why an inferred kind is not the obvious one (e.g. an identifier-like column is ignored). */
  note?: string;
}

export type TypedColumn =
  | { name: string; kind: "numeric" | "boolean"; values: Float64Array }
  | { name: string; kind: "categorical" | "label"; values: (string | null)[] };

export interface SchemaOptions {
  target?: string;
  task?: Task;
  overrides?: Record<string, ColumnOverride>;
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const TRUE_WORDS = new Set(["true", "yes", "t", "y"]);
const FALSE_WORDS = new Set(["false", "no", "f", "n"]);
/** A string column with more distinct values than this (and than half its rows) looks like an id. */
const IDENTIFIER_DISTINCT = 100;

/** The number a cell holds, or undefined when it is not one. Booleans count as 1/0. */
export function numberOf(cell: Exclude<Cell, null>): number | undefined {
  if (typeof cell === "number") return cell;
  if (typeof cell === "boolean") return cell ? 1 : 0;
  const text = cell.trim();
  return NUMBER.test(text) ? Number(text) : undefined;
}

/** The boolean a cell holds (true/false, yes/no, t/f, y/n, and 1/0 when forced), or undefined. */
function booleanOf(cell: Exclude<Cell, null>, allowDigits: boolean): boolean | undefined {
  if (typeof cell === "boolean") return cell;
  const text = String(cell).trim().toLowerCase();
  if (TRUE_WORDS.has(text) || (allowDigits && text === "1")) return true;
  if (FALSE_WORDS.has(text) || (allowDigits && text === "0")) return false;
  return undefined;
}

const textOf = (cell: Exclude<Cell, null>): string => (typeof cell === "string" ? cell.trim() : String(cell));

/** Infers one column's kind from its non-missing cells. */
function inferKind(cells: Cell[]): { kind: ColumnOverride; note?: string } {
  const present = cells.filter((c): c is Exclude<Cell, null> => c !== null);
  if (present.length === 0) return { kind: "ignore", note: "every value is missing" };
  if (present.every((c) => typeof c !== "boolean" && numberOf(c) !== undefined)) return { kind: "numeric" };
  if (present.every((c) => typeof c !== "number" && booleanOf(c, false) !== undefined)) {
    return { kind: "boolean" };
  }
  const distinct = new Set(present.map(textOf)).size;
  if (distinct > IDENTIFIER_DISTINCT && distinct > present.length / 2) {
    return {
      kind: "ignore",
      note: `looks like an identifier (${distinct} distinct values); override to use it`,
    };
  }
  return { kind: "categorical" };
}

/** Infers every column's kind, applies overrides and the target's role; refuses unknown names. */
export function inferSchema(table: RawTable, options: SchemaOptions = {}): ColumnSchema[] {
  const overrides = options.overrides ?? {};
  for (const name of Object.keys(overrides)) {
    if (!table.columns.includes(name)) {
      throw new DatasetError("unknown_column", `override for "${name}": no such column`, { column: name });
    }
  }
  if (options.target !== undefined && !table.columns.includes(options.target)) {
    throw new DatasetError(
      "unknown_column",
      `target column "${options.target}" does not exist; columns: ${table.columns.join(", ")}`,
      { column: options.target },
    );
  }
  return table.columns.map((name, c): ColumnSchema => {
    const forced = overrides[name];
    if (name === options.target) {
      if (forced === "ignore") throw new DatasetError("bad_target", `the target "${name}" cannot be ignored`);
      if (options.task === "classification") return { name, kind: "label", inferred: forced === undefined };
      if (options.task === "regression") {
        if (forced !== undefined && forced !== "numeric") {
          throw new DatasetError("bad_target", `a regression target must be numeric, not ${forced}`);
        }
        return { name, kind: "numeric", inferred: forced === undefined };
      }
    }
    if (forced !== undefined) return { name, kind: forced, inferred: false };
    return { name, ...inferKind(table.cells[c]!), inferred: true };
  });
}

/** Converts raw cells to typed columns (ignored ones left out); a misfit cell is a DatasetError. */
export function applySchema(table: RawTable, schema: ColumnSchema[]): TypedColumn[] {
  return schema.flatMap((column, c) => (column.kind === "ignore" ? [] : [typed(column, table.cells[c]!)]));
}

function typed(column: ColumnSchema, cells: Cell[]): TypedColumn {
  {
    const bad = (row: number, cell: Exclude<Cell, null>, what: string) =>
      new DatasetError(
        "bad_value",
        `column "${column.name}", data row ${row + 1}: ${JSON.stringify(textOf(cell).slice(0, 40))} is not ${what}`,
        { row: row + 1, column: column.name },
      );
    switch (column.kind) {
      case "numeric":
      case "boolean": {
        const values = new Float64Array(cells.length);
        cells.forEach((cell, row) => {
          if (cell === null) values[row] = Number.NaN;
          else if (column.kind === "numeric") {
            const value = numberOf(cell);
            if (value === undefined || !Number.isFinite(value)) throw bad(row, cell, "a number");
            values[row] = value;
          } else {
            const value = booleanOf(cell, true);
            if (value === undefined) throw bad(row, cell, "a boolean (true/false, yes/no, 1/0)");
            values[row] = value ? 1 : 0;
          }
        });
        return { name: column.name, kind: column.kind, values };
      }
      case "categorical":
      case "label":
        return {
          name: column.name,
          kind: column.kind,
          values: cells.map((c) => (c === null ? null : textOf(c))),
        };
      default:
        throw new Error(`column "${column.name}" is ignored`);
    }
  }
}

/**
 * What to learn from a target column when the uploader did not say: text, labels and booleans are
 * classification; a numeric column is classification only when it looks like class codes (whole
 * numbers, at most 10 distinct values, and few next to the rows), else regression. `mpg` with
 * decimals is regression; `species` is classification; a 0/1 `churned` is classification.
 */
import type { Dataset } from "./dataset.js";
import type { Task } from "./schema.js";

/** Most distinct whole-number values a numeric target may have and still read as class codes. */
export const MAX_CODE_CLASSES = 10;

/** The inferred task for `target`, or undefined when the dataset has no such (used) column. */
export function inferTask(dataset: Pick<Dataset, "columns" | "rows">, target: string): Task | undefined {
  const column = dataset.columns.find((c) => c.name === target);
  if (column === undefined) return undefined;
  if (column.kind !== "numeric") return "classification";
  const seen = new Set<number>();
  for (const value of column.values) {
    if (Number.isNaN(value)) continue;
    if (!Number.isInteger(value)) return "regression";
    seen.add(value);
    if (seen.size > MAX_CODE_CLASSES) return "regression";
  }
  // Five 1-5 ratings in 12 rows are codes; 8 distinct integers in 10 rows are a quantity.
  return seen.size <= Math.max(2, dataset.rows / 5) ? "classification" : "regression";
}

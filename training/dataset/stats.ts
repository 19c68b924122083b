/** Per-column statistics of a typed dataset: what the dataset page and the CLI show. */
import type { TypedColumn } from "./schema.js";

/** The quantiles reported for numeric columns. */
export const REPORTED_QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95] as const;
/** Categories listed by frequency; the rest are summed into `otherCount`. */
const TOP_CATEGORIES = 20;

export type ColumnStats =
  | {
      name: string;
      kind: "numeric" | "boolean";
      count: number;
      missing: number;
      min: number | null;
      max: number | null;
      mean: number | null;
      std: number | null;
      /** `{ "0.05": value, ... }`; empty when every value is missing. */
      quantiles: Record<string, number>;
    }
  | {
      name: string;
      kind: "categorical" | "label";
      count: number;
      missing: number;
      distinct: number;
      /** Most frequent categories first (ties by name). */
      frequencies: { value: string; count: number }[];
      otherCount: number;
    };

/** Linear-interpolation quantile of an ascending array (the "type 7" rule numpy uses by default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

/** The non-NaN values of a numeric column, ascending. */
export function sortedPresent(values: ArrayLike<number>): Float64Array {
  const present: number[] = [];
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i]!)) present.push(values[i]!);
  return Float64Array.from(present).sort();
}

/** Category counts, most frequent first (ties by name), missing values not counted. */
export function categoryCounts(values: readonly (string | null)[]): { value: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const value of values) if (value !== null) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}

/** Statistics for one column. */
export function columnStats(column: TypedColumn): ColumnStats {
  if (column.kind === "numeric" || column.kind === "boolean") {
    const sorted = sortedPresent(column.values);
    const n = sorted.length;
    let sum = 0;
    for (const v of sorted) sum += v;
    const mean = n > 0 ? sum / n : null;
    let squares = 0;
    for (const v of sorted) squares += (v - mean!) ** 2;
    return {
      name: column.name,
      kind: column.kind,
      count: column.values.length,
      missing: column.values.length - n,
      min: n > 0 ? sorted[0]! : null,
      max: n > 0 ? sorted[n - 1]! : null,
      mean,
      std: n > 0 ? Math.sqrt(squares / n) : null,
      quantiles:
        n > 0
          ? Object.fromEntries(REPORTED_QUANTILES.map((q) => [String(q), quantileSorted(sorted, q)]))
          : {},
    };
  }
  const counts = categoryCounts(column.values as (string | null)[]);
  const present = counts.reduce((a, b) => a + b.count, 0);
  const top = counts.slice(0, TOP_CATEGORIES);
  return {
    name: column.name,
    kind: column.kind,
    count: column.values.length,
    missing: column.values.length - present,
    distinct: counts.length,
    frequencies: top,
    otherCount: present - top.reduce((a, b) => a + b.count, 0),
  };
}

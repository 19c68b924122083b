/**
 * Deterministic train/validation/test split: the same rows, seed and fractions always give the
 * same split. Classification splits are stratified by label so rare classes reach every part.
 */
import { seededRandom } from "../../modules/onnx/random.js";
import { TrainingError } from "../errors.js";

export interface SplitFractions {
  validation: number;
  test: number;
}

/** 70/15/15. */
export const DEFAULT_SPLIT: SplitFractions = { validation: 0.15, test: 0.15 };

/** Row indices of each part, ascending. */
export interface Split {
  train: Uint32Array;
  validation: Uint32Array;
  test: Uint32Array;
}

/** Fisher–Yates with a seeded generator. */
function shuffle(items: number[], random: () => number): number[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * Splits `rows` row indices by seed; `strata` (one key per row, e.g. the label) keeps each key's
 * share in every part. Refuses fractions outside [0, 1) or summing to 1 or more.
 */
export function splitRows(
  rows: number,
  seed: number,
  fractions: SplitFractions = DEFAULT_SPLIT,
  strata?: readonly (string | null)[],
): Split {
  const { validation, test } = fractions;
  if (!(validation >= 0 && test >= 0 && validation + test < 1)) {
    throw new TrainingError("bad_params", "split fractions must be >= 0 and leave rows for training");
  }
  const random = seededRandom(seed);
  const groups = new Map<string, number[]>();
  for (let i = 0; i < rows; i++) {
    const key = strata?.[i] ?? "";
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [i]);
    else group.push(i);
  }
  const parts: Record<keyof Split, number[]> = { train: [], validation: [], test: [] };
  // Groups in sorted key order so the split does not depend on row order of first appearance.
  for (const key of [...groups.keys()].sort()) {
    const members = shuffle(groups.get(key)!, random);
    const nTest = Math.round(members.length * test);
    const nValidation = Math.round(members.length * validation);
    parts.test.push(...members.slice(0, nTest));
    parts.validation.push(...members.slice(nTest, nTest + nValidation));
    parts.train.push(...members.slice(nTest + nValidation));
  }
  const sorted = (xs: number[]) => Uint32Array.from(xs).sort();
  return { train: sorted(parts.train), validation: sorted(parts.validation), test: sorted(parts.test) };
}

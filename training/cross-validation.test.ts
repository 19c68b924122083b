import { describe, expect, it } from "vitest";
import { assignFolds, makeFolds, meanSd } from "./cross-validation.js";
import type { TrainingData } from "./trainers/types.js";

describe("k-fold cross-validation folds", () => {
  it("deals every row to one fold, keeps each class's share, and repeats with the seed", () => {
    // 40 rows of class 0, 10 of class 1.
    const y = Float64Array.from({ length: 50 }, (_, i) => (i < 40 ? 0 : 1));
    const folds = assignFolds(y, 5, 3, true);
    for (let k = 0; k < 5; k++) {
      const members = [...folds.keys()].filter((i) => folds[i] === k);
      expect(members).toHaveLength(10);
      expect(members.filter((i) => y[i] === 1)).toHaveLength(2);
    }
    expect(assignFolds(y, 5, 3, true)).toEqual(folds);
    expect(assignFolds(y, 5, 4, true)).not.toEqual(folds);
  });

  it("builds held-out and kept rows from the design matrix, disjoint and complete", () => {
    const rows = 12;
    const data: TrainingData = {
      task: "regression",
      width: 2,
      classes: 0,
      train: {
        x: Float32Array.from({ length: rows * 2 }, (_, i) => i),
        rows,
        y: Float64Array.from({ length: rows }, (_, i) => i),
      },
      validation: { x: new Float32Array(0), rows: 0, y: new Float64Array(0) },
    };
    const folds = makeFolds(data, 3, 1);
    const held = folds.flatMap((f) => [...f.heldOut.y]).sort((a, b) => a - b);
    expect(held).toEqual([...data.train.y]);
    for (const f of folds) {
      expect(f.train.rows + f.heldOut.rows).toBe(rows);
      expect([...f.train.y].some((v) => [...f.heldOut.y].includes(v))).toBe(false);
      // Row r's features are 2r and 2r+1: the rows travel whole.
      for (const [i, r] of f.heldOut.y.entries())
        expect([f.heldOut.x[2 * i], f.heldOut.x[2 * i + 1]]).toEqual([2 * r, 2 * r + 1]);
      expect([...f.positions]).toEqual([...f.heldOut.y]);
    }
  });

  it("reports the mean and the sample standard deviation", () => {
    expect(meanSd([1, 2, 3, 4])).toEqual({ mean: 2.5, sd: Math.sqrt(5 / 3) });
    expect(meanSd([7])).toEqual({ mean: 7, sd: 0 });
  });
});

import { describe, expect, it } from "vitest";
import { classificationMetrics, regressionMetrics, rocAuc } from "./metrics.js";

describe("metrics", () => {
  it("ROC AUC matches the textbook example, with ties counted half", () => {
    // scikit-learn's roc_auc_score example: y = [0, 0, 1, 1], scores = [0.1, 0.4, 0.35, 0.8] → 0.75.
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true])).toBe(0.75);
    expect(rocAuc([0.5, 0.5], [false, true])).toBe(0.5);
    expect(rocAuc([0.1, 0.2], [true, true])).toBeNull();
  });

  it("accuracy, macro F1 and one-vs-rest AUC for three classes", () => {
    const p = [0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8, 0.6, 0.3, 0.1];
    const m = classificationMetrics(p, [0, 1, 2, 1], 3);
    expect(m.accuracy).toBe(0.75);
    // Class 0: P 1/2 R 1 → F1 2/3; class 1: P 1 R 1/2 → 2/3; class 2: 1. Mean 7/9.
    expect(m.macroF1).toBeCloseTo(7 / 9, 12);
    expect(m.rocAuc).toBeGreaterThan(0.8);
  });

  it("RMSE, MAE and R²", () => {
    // scikit-learn's docstring examples: MSE 0.375, MAE 0.5, R² 0.948...
    const m = regressionMetrics([2.5, 0.0, 2, 8], [3, -0.5, 2, 7]);
    expect(m.rmse).toBeCloseTo(Math.sqrt(0.375), 12);
    expect(m.mae).toBeCloseTo(0.5, 12);
    expect(m.r2).toBeCloseTo(0.9486081370449679, 12);
  });
});

import { describe, expect, it } from "vitest";
import { AUTO_GRID } from "./auto.js";
import { datasetFromRows } from "./dataset/dataset.js";
import type { ClassificationMetrics } from "./evaluate/metrics.js";
import { linearRegression, rings } from "./synthetic.js";
import { train } from "./train.js";

const ring = datasetFromRows(rings(400, 3), { target: "label", task: "classification" });

describe("recipe: auto", () => {
  it("ranks candidates by cross-validated log loss and returns the best, refitted, as ONNX", async () => {
    const result = await train({
      dataset: ring,
      task: "classification",
      target: "label",
      recipe: "auto",
      params: { recipes: ["logistic", "gbt"] },
      seed: 1,
    });
    const board = result.leaderboard!;
    expect(board.map((e) => e.rank)).toEqual([1, 2, 3, 4, 5, 6]);
    const values = board.map((e) => e.metric.value);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    // 280 training rows: 5-fold cross-validation, mean ± sd per candidate.
    for (const e of board) {
      expect(e).toMatchObject({ evaluation: "cross-validation", metric: { name: "logLoss", folds: 5 } });
      expect(e.metric.sd).toBeGreaterThanOrEqual(0);
      expect(e.validation).toHaveProperty("accuracy");
    }
    // Rings are not linear: a tree ensemble must win over every logistic candidate.
    expect(board[0]!.recipe).toBe("gbt");
    expect(board.at(-1)!.recipe).toBe("logistic");
    expect(result.recipe).toBe("gbt");
    expect(result.params).toEqual(board[0]!.params);
    expect(result.predictionsCheck.ok).toBe(true);
    expect((result.metrics.test as ClassificationMetrics).accuracy).toBeGreaterThan(0.9);
    expect(result.history).toHaveLength(result.iterations >= 1 ? result.history.length : 0);
    expect(result.history.every((e) => e.recipe === "gbt")).toBe(true);
    // Only the refit on every training row reports iterations (the folds report none): one series, 1, 2, 3, …
    expect(result.history.length).toBeGreaterThanOrEqual(result.iterations);
    expect(result.history.map((e) => e.iteration)).toEqual(result.history.map((_, i) => i + 1));
  });

  it("ranks on the validation split when the training split is at or above crossValidateBelow", async () => {
    const result = await train({
      dataset: ring,
      task: "classification",
      target: "label",
      recipe: "auto",
      params: { recipes: ["logistic", "gbt"], crossValidateBelow: 100 },
      seed: 1,
    });
    const board = result.leaderboard!;
    expect(board.every((e) => e.evaluation === "validation" && e.metric.sd === undefined)).toBe(true);
    // The winner is the candidate's own fit: its validation metrics are the run's.
    expect(board[0]!.validation).toEqual(result.metrics.validation);
    expect(board[0]!.metric.value).toBe((result.metrics.validation as ClassificationMetrics).logLoss);
  });

  it("sweeps the random forest too, by default", async () => {
    const result = await train({
      dataset: ring,
      task: "classification",
      target: "label",
      recipe: "auto",
      params: { recipes: ["logistic", "forest"] },
      seed: 1,
    });
    expect(result.leaderboard!.map((e) => e.recipe).sort()).toEqual([
      "forest",
      "logistic",
      "logistic",
      "logistic",
    ]);
    expect(result.recipe).toBe("forest");
    expect(result.predictionsCheck.ok).toBe(true);
    expect(AUTO_GRID.forest.length).toBeGreaterThan(0);
  });

  it("stops starting candidates when the injected clock passes the budget (the first always runs)", async () => {
    let clock = 0;
    const candidates: number[] = [];
    const result = await train({
      dataset: datasetFromRows(linearRegression(200, 1), { target: "y", task: "regression" }),
      task: "regression",
      target: "y",
      recipe: "auto",
      params: { budgetMs: 1000 },
      seed: 1,
      now: () => clock,
      // Each candidate "takes" 400 ms: within 1000 ms the sweep starts candidates at 0, 400 and 800.
      onProgress: (e) => {
        if (e.kind !== "candidate") return;
        candidates.push(e.candidate);
        clock += 400;
      },
    });
    expect(candidates).toEqual([0, 1, 2]);
    expect(result.leaderboard).toHaveLength(3);
    expect(result.leaderboard!.every((e) => e.recipe === "ridge" && e.metric.name === "rmse")).toBe(true);
  });

  it("refuses unknown auto parameters and sweeps with no recipe for the task", async () => {
    const base = { dataset: ring, task: "classification" as const, target: "label", recipe: "auto" as const };
    await expect(train({ ...base, params: { budget: 5 } })).rejects.toThrow(/budget/);
    await expect(train({ ...base, params: { folds: 1 } })).rejects.toThrow(/folds/);
    await expect(train({ ...base, params: { recipes: ["ridge"] } })).rejects.toThrow(
      /no recipe in the sweep/,
    );
  });
});

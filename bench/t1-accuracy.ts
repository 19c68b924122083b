/**
 * T1: on every vendored data set (test/fixtures/datasets), the best built-in recipe's mean test
 * metric over the five recorded splits against the best of scikit-learn's linear, RandomForest(500),
 * GradientBoosting and HistGradientBoosting models on the same rows (recorded by
 * scripts/reference/sklearn_reference.py: scikit-learn cannot run in this process, so the peer is
 * its recorded figure). Also reports `auto` (what `train --recipe auto` picks by 5-fold cross-validation on the training rows, refitted).
 * Accuracy for classification (ratio ours / peer, goal ≥ 0.98), RMSE for regression (≤ 1.02).
 * In-process predictions on the test split: the ONNX models equal them (training/README.md, parity).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../lib/paths.js";
import { metricsOf, sweep } from "../training/auto.js";
import { loadDataset } from "../training/dataset/dataset.js";
import type { Task } from "../training/dataset/schema.js";
import { prepare } from "../training/prepare.js";
import { fitRecipe, parseParams, RECIPES } from "../training/trainers/recipes.js";
import type { RecipeName, TrainedModel } from "../training/trainers/types.js";
import type { BenchResult } from "./stats.js";

const DIR = join(projectRoot(), "test", "fixtures", "datasets");

interface RecordedCase {
  id: string;
  file: string;
  target: string;
  task: Task;
}

interface Peers {
  best: string;
  mean: Record<string, number>;
}

export async function benchT1(): Promise<BenchResult[]> {
  const splits = JSON.parse(readFileSync(join(DIR, "reference-splits.json"), "utf8")) as {
    seeds: number[];
    cases: RecordedCase[];
  };
  const metrics = JSON.parse(readFileSync(join(DIR, "reference-metrics.json"), "utf8")) as {
    cases: Record<string, { peers: Peers }>;
  };
  const results: BenchResult[] = [];
  for (const c of splits.cases) {
    const dataset = await loadDataset({ path: join(DIR, c.file) }, c);
    const classification = c.task === "classification";
    const key = classification ? "accuracy" : "rmse";
    const recipes = (Object.keys(RECIPES) as RecipeName[]).filter((r) => RECIPES[r].tasks.includes(c.task));
    const sums = new Map<string, number>();
    const started = Date.now();
    for (const seed of splits.seeds) {
      const prepared = prepare(dataset, { task: c.task, target: c.target, seed });
      const score = (model: TrainedModel) => {
        const m = metricsOf(
          c.task,
          model.predict(prepared.test.x, prepared.test.rows),
          prepared.test.y,
          prepared.data.classes,
        );
        return (m as unknown as Record<string, number>)[key]!;
      };
      for (const recipe of recipes) {
        const model = fitRecipe(recipe, prepared.data, parseParams(recipe, c.task, {}), { seed });
        sums.set(recipe, (sums.get(recipe) ?? 0) + score(model));
      }
      sums.set("auto", (sums.get("auto") ?? 0) + score(sweep(prepared, {}, { seed }).best));
    }
    const means = [...sums].map(([recipe, sum]) => ({ recipe, value: sum / splits.seeds.length }));
    const builtIn = means.filter((m) => m.recipe !== "auto");
    const best = builtIn.sort((a, b) => (classification ? b.value - a.value : a.value - b.value))[0]!;
    const auto = means.find((m) => m.recipe === "auto")!;
    const peer = metrics.cases[c.id]!.peers;
    const goal = classification ? ">= 0.98x" : "<= 1.02x";
    const met = (ratio: number) => (classification ? ratio >= 0.98 : ratio <= 1.02);
    const details = {
      ...Object.fromEntries(means.map((m) => [m.recipe, Number(m.value.toFixed(4))])),
      peer: peer.best,
      seeds: splits.seeds.length,
      seconds: Number(((Date.now() - started) / 1000).toFixed(1)),
    };
    for (const [what, ours] of [
      [`best recipe (${best.recipe})`, best.value],
      ["auto", auto.value],
    ] as const) {
      const ratio = ours / peer.mean[key]!;
      results.push({
        id: "T1",
        what: `${c.id} test ${key}, ${what} vs scikit-learn's best (${peer.best})`,
        ours,
        peer: peer.mean[key]!,
        unit: key,
        ratio,
        goal,
        met: met(ratio),
        details,
      });
    }
  }
  return results;
}

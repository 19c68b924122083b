/**
 * Every built-in recipe on real, cited data sets (test/fixtures/datasets/README.md) against
 * scikit-learn on the very same splits: our test metrics (measured on the exported ONNX model)
 * must reach the reference figures recorded by scripts/reference/sklearn_reference.py, and the
 * ONNX model must agree with the trainer. The recorded splits guard the comparison: if our split
 * ever changes, the references are stale and this test says so.
 *
 * Regenerate the splits: UPDATE_REFERENCE_SPLITS=1 npx vitest run training/reference-accuracy.test.ts
 * then rerun the Python script (docs/training.md says how).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Dataset, loadDataset } from "./dataset/dataset.js";
import type { Task } from "./dataset/schema.js";
import { prepare } from "./prepare.js";
import { train } from "./train.js";
import type { RecipeName } from "./trainers/types.js";

const DIR = join(import.meta.dirname, "../test/fixtures/datasets");
const SPLITS_FILE = join(DIR, "reference-splits.json");
const METRICS_FILE = join(DIR, "reference-metrics.json");
/** Five seeded splits per data set: one 15% test split holds 51 to 86 rows, too few to judge alone. */
const SEEDS = [1, 2, 3, 4, 5];

interface Case {
  id: string;
  file: string;
  target: string;
  task: Task;
  recipes: RecipeName[];
  /** Matched-reference metrics a recipe is known to miss on this case (training/README.md says by how much). */
  knownGaps?: Partial<Record<RecipeName, string[]>>;
}

/**
 * Sets on which the test also holds `recipe: auto` to T1 (five 5-fold sweeps each take ~20 s of CPU
 * here; `npm run bench -- T1` checks auto on every set).
 */
const AUTO_CASES = ["auto-mpg", "auto-origin"];

const CASES: Case[] = [
  {
    id: "breast-cancer",
    file: "breast-cancer-wisconsin.csv",
    target: "diagnosis",
    task: "classification",
    recipes: ["logistic", "mlp", "gbt", "forest"],
  },
  {
    id: "penguins-species",
    file: "penguins.csv",
    target: "species",
    task: "classification",
    recipes: ["logistic", "mlp", "gbt", "forest"],
  },
  {
    id: "diabetes",
    file: "diabetes.csv",
    target: "progression",
    task: "regression",
    recipes: ["ridge", "mlp", "gbt", "forest"],
  },
  {
    id: "penguins-mass",
    file: "penguins.csv",
    target: "body_mass_g",
    task: "regression",
    recipes: ["ridge", "mlp", "gbt", "forest"],
  },
  {
    id: "auto-mpg",
    file: "auto-mpg.csv",
    target: "mpg",
    task: "regression",
    recipes: ["ridge", "mlp", "gbt", "forest"],
  },
  {
    id: "auto-origin",
    file: "auto-mpg.csv",
    target: "origin",
    task: "classification",
    recipes: ["logistic", "mlp", "gbt", "forest"],
    // Our MLP's macro F1 trails scikit-learn's matched MLP by ~0.027 (accuracy is within 0.02):
    // it predicts the two small classes less often. Not hidden by a wider margin.
    knownGaps: { mlp: ["macroF1"] },
  },
  {
    id: "wine",
    file: "wine.csv",
    target: "cultivar",
    task: "classification",
    recipes: ["logistic", "mlp", "gbt", "forest"],
  },
];

/** What the Python script needs to rebuild our problem: columns by kind, classes, and the splits. */
interface RecordedCase {
  id: string;
  file: string;
  target: string;
  task: Task;
  numeric: string[];
  categorical: string[];
  classes: string[];
  splits: { seed: number; train: number[]; validation: number[]; test: number[] }[];
}

interface Variant {
  name: string;
  mean: Record<string, number>;
}

/**
 * Reference figures per case and recipe: the matched reference's mean over SEEDS of each test
 * metric, and every variant's; `peers` holds scikit-learn's own linear, forest and boosting models
 * at their defaults and the best of them (`mean`), the T1 yardstick.
 */
interface ReferenceMetrics {
  cases: Record<
    string,
    Record<string, { reference?: string; best?: string; mean: Record<string, number>; variants: Variant[] }>
  >;
}

/**
 * T1: the best built-in recipe reaches 0.98x scikit-learn's best accuracy (at most 1.02x its RMSE);
 * boosted trees reach scikit-learn's GradientBoosting and HistGradientBoosting defaults as closely.
 */
const WITHIN = { accuracy: 0.98, rmse: 1.02 };

const datasets = new Map<string, Promise<Dataset>>();
const load = (c: Case) => {
  const key = `${c.file}:${c.target}`;
  if (!datasets.has(key)) datasets.set(key, loadDataset({ path: join(DIR, c.file) }, c));
  return datasets.get(key)!;
};

async function recordCase(c: Case): Promise<RecordedCase> {
  const dataset = await load(c);
  const splits = SEEDS.map((seed) => {
    const { split } = prepare(dataset, { task: c.task, target: c.target, seed });
    return { seed, train: [...split.train], validation: [...split.validation], test: [...split.test] };
  });
  const { features, classes } = prepare(dataset, { task: c.task, target: c.target, seed: SEEDS[0]! });
  return {
    id: c.id,
    file: c.file,
    target: c.target,
    task: c.task,
    numeric: features.filter((f) => f.kind !== "categorical").map((f) => f.name),
    categorical: features.filter((f) => f.kind === "categorical").map((f) => f.name),
    classes,
    splits,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("reference accuracy against scikit-learn", () => {
  if (process.env.UPDATE_REFERENCE_SPLITS === "1") {
    it("writes the splits the Python reference script reads", async () => {
      const recorded = await Promise.all(CASES.map(recordCase));
      writeFileSync(SPLITS_FILE, `${JSON.stringify({ seeds: SEEDS, cases: recorded })}\n`);
    });
    return;
  }
  const recorded = JSON.parse(readFileSync(SPLITS_FILE, "utf8")) as { cases: RecordedCase[] };
  const references = JSON.parse(readFileSync(METRICS_FILE, "utf8")) as ReferenceMetrics;

  it.each(CASES)("$id: the recorded splits and columns are still ours", async (c) => {
    expect(recorded.cases.find((r) => r.id === c.id)).toEqual(await recordCase(c));
  });

  /** Mean test metrics over SEEDS, trained once per case and recipe and shared by the checks below. */
  const results = new Map<string, Promise<Record<string, number>>>();
  const meanTest = (c: Case, recipe: RecipeName | "auto") => {
    const key = `${c.id}/${recipe}`;
    if (!results.has(key)) results.set(key, trainSeeds(c, recipe));
    return results.get(key)!;
  };
  async function trainSeeds(c: Case, recipe: RecipeName | "auto"): Promise<Record<string, number>> {
    const dataset = await load(c);
    const tests: Record<string, number>[] = [];
    for (const seed of SEEDS) {
      const result = await train({ dataset, task: c.task, target: c.target, recipe, seed });
      expect(result.predictionsCheck.ok).toBe(true);
      expect(result.predictionsCheck.rows).toBe(result.split.test);
      expect(result.predictionsCheck.labelMismatches).toBe(0);
      tests.push(result.metrics.test as unknown as Record<string, number>);
    }
    return Object.fromEntries(Object.keys(tests[0]!).map((k) => [k, mean(tests.map((t) => t[k]!))]));
  }

  const runs = CASES.flatMap((c) => c.recipes.map((recipe) => ({ ...c, recipe })));
  it.each(runs)(
    "$id / $recipe: reaches scikit-learn on 5 splits, ONNX equal to the trainer",
    { timeout: 180_000 },
    async (run) => {
      const ours = await meanTest(run, run.recipe);
      const reference = references.cases[run.id]![run.recipe]!.mean;
      // Convex recipes reach the same optimum as the reference: equal figures up to float32
      // weights. MLPs and trees differ in their random streams, binning and early-stopping
      // holdout, so they get a margin: about one test row in accuracy, 5% in RMSE.
      const convex = run.recipe === "logistic" || run.recipe === "ridge";
      const gaps = run.knownGaps?.[run.recipe] ?? [];
      if (run.task === "classification") {
        const margin = convex ? 0.001 : 0.02;
        expect(ours.accuracy).toBeGreaterThanOrEqual(reference.accuracy! - margin);
        if (gaps.includes("macroF1")) expect(ours.macroF1).toBeLessThan(reference.macroF1! - margin);
        else expect(ours.macroF1).toBeGreaterThanOrEqual(reference.macroF1! - margin);
        expect(ours.rocAuc).toBeGreaterThanOrEqual(reference.rocAuc! - (convex ? 0.001 : 0.01));
      } else {
        expect(ours.rmse).toBeLessThanOrEqual(reference.rmse! * (convex ? 1.001 : 1.05));
        expect(ours.r2).toBeGreaterThanOrEqual(reference.r2! - (convex ? 0.001 : 0.03));
      }
    },
  );

  it.each(CASES)(
    "$id / gbt: within 2% of scikit-learn's GradientBoosting and HistGradientBoosting defaults",
    { timeout: 180_000 },
    async (c) => {
      const ours = await meanTest(c, "gbt");
      const variants = references.cases[c.id]!.gbt!.variants.filter((v) => v.name.startsWith("defaults:"));
      expect(variants.map((v) => v.name.replace(/^defaults: (Hist)?GradientBoosting\w+.*$/, "$1GB"))).toEqual(
        ["HistGB", "GB"],
      );
      for (const v of variants) {
        if (c.task === "classification")
          expect(ours.accuracy).toBeGreaterThanOrEqual(v.mean.accuracy! * WITHIN.accuracy);
        else expect(ours.rmse).toBeLessThanOrEqual(v.mean.rmse! * WITHIN.rmse);
      }
    },
  );

  it.each(CASES)(
    "$id: T1, the best recipe reaches 0.98x scikit-learn's best linear, forest or boosting model",
    { timeout: 600_000 },
    async (c) => {
      const peers = references.cases[c.id]!.peers!;
      expect(peers.variants).toHaveLength(4);
      const ours = await Promise.all(c.recipes.map((r) => meanTest(c, r)));
      if (c.task === "classification") {
        const best = Math.max(...ours.map((m) => m.accuracy!));
        expect(best).toBeGreaterThanOrEqual(peers.mean.accuracy! * WITHIN.accuracy);
      } else {
        const best = Math.min(...ours.map((m) => m.rmse!));
        expect(best).toBeLessThanOrEqual(peers.mean.rmse! * WITHIN.rmse);
      }
    },
  );

  it.each(CASES.filter((c) => AUTO_CASES.includes(c.id)))(
    "$id: T1 for auto itself, ranking by 5-fold cross-validation on the training rows",
    { timeout: 600_000 },
    async (c) => {
      const peers = references.cases[c.id]!.peers!;
      const ours = await meanTest(c, "auto");
      if (c.task === "classification")
        expect(ours.accuracy).toBeGreaterThanOrEqual(peers.mean.accuracy! * WITHIN.accuracy);
      else expect(ours.rmse).toBeLessThanOrEqual(peers.mean.rmse! * WITHIN.rmse);
    },
  );
});

/**
 * Gradient-boosted trees: squared error for regression, logistic loss for two classes, softmax
 * (one tree per class per round) for more, with early stopping on the validation loss. Exported
 * as ONNX-ML TreeEnsembleRegressor / TreeEnsembleClassifier (domain ai.onnx.ml, opset 3), which
 * onnxruntime 1.30 runs natively.
 */
import { z } from "zod";
import type { GraphBuilder } from "../../modules/onnx/builder.js";
import { seededRandom } from "../../modules/onnx/random.js";
import { binaryProbabilities, softmaxInPlace, taskLoss } from "./heads.js";
import { binFeatures, fitTree, type TreeNode, treeValue } from "./tree.js";
import { exportEnsemble, ML_OPSET } from "./tree-export.js";
import type { FitOptions, TrainedModel, TrainingData } from "./types.js";

export const GbtParamsSchema = z
  .object({
    nEstimators: z.number().int().min(1).max(5000).default(300),
    learningRate: z.number().positive().max(1).default(0.1),
    maxDepth: z.number().int().min(1).max(12).default(3),
    minSamplesLeaf: z.number().int().min(1).default(1),
    /** L2 penalty on leaf values. */
    lambda: z.number().min(0).default(0.5),
    /** Histogram bins per feature (at most 255). */
    maxBins: z.number().int().min(2).max(255).default(128),
    /**
     * Share of the training rows each round's trees see, drawn without replacement from the seed
     * (Friedman's stochastic gradient boosting); 1 uses every row.
     */
    subsample: z.number().positive().max(1).default(0.8),
    /** Rounds without a better validation loss before stopping; 0 turns early stopping off. */
    patience: z.number().int().min(0).default(30),
  })
  .strict();
export type GbtParams = z.infer<typeof GbtParamsSchema>;

/** Fits boosted trees; `trees[round * outputs + k]` belongs to output k. */
export function fitGbt(data: TrainingData, params: GbtParams, options: FitOptions): TrainedModel {
  const { width, classes } = data;
  const outputs = classes > 2 ? classes : 1;
  const train = data.train;
  const base = initialScores(train.y, classes).map(Math.fround);
  const binned = binFeatures(train.x, train.rows, width, params.maxBins);
  const all = Uint32Array.from({ length: train.rows }, (_, i) => i);
  const random = seededRandom(options.seed * 0x85ebca6b + 11);
  const sampleSize = Math.max(1, Math.round(params.subsample * train.rows));
  const treeOptions = {
    maxDepth: params.maxDepth,
    minSamplesLeaf: params.minSamplesLeaf,
    lambda: params.lambda,
    shrinkage: params.learningRate,
  };
  const margins = new Float64Array(train.rows * outputs);
  for (let i = 0; i < train.rows; i++) for (let k = 0; k < outputs; k++) margins[i * outputs + k] = base[k]!;
  const validationMargins = new Float64Array(data.validation.rows * outputs);
  for (let i = 0; i < data.validation.rows; i++) {
    for (let k = 0; k < outputs; k++) validationMargins[i * outputs + k] = base[k]!;
  }
  const trees: TreeNode[][] = [];
  const gradients = new Float64Array(train.rows);
  const hessians = new Float64Array(train.rows);
  const targets = { outputs: 1, gradients, hessians };
  let best = { loss: Number.POSITIVE_INFINITY, round: 0 };
  let round = 0;
  while (round < params.nEstimators) {
    round++;
    const probabilities = toOutputs(margins, train.rows, classes);
    const rows = sampleSize < train.rows ? sampleRows(all, sampleSize, random) : all;
    for (let k = 0; k < outputs; k++) {
      for (let i = 0; i < train.rows; i++) {
        const yi = train.y[i]!;
        if (classes === 0) {
          gradients[i] = margins[i]! - yi;
          hessians[i] = 1;
        } else {
          const p = classes === 2 ? probabilities[2 * i + 1]! : probabilities[i * classes + k]!;
          const target = classes === 2 ? yi : yi === k ? 1 : 0;
          gradients[i] = p - target;
          hessians[i] = Math.max(p * (1 - p), 1e-6);
        }
      }
      const tree = fitTree(binned, rows, targets, treeOptions);
      trees.push(tree);
      for (let i = 0; i < train.rows; i++) margins[i * outputs + k]! += treeValue(tree, train.x, i * width);
      for (let i = 0; i < data.validation.rows; i++) {
        validationMargins[i * outputs + k]! += treeValue(tree, data.validation.x, i * width);
      }
    }
    const metrics: Record<string, number> = {
      trainLoss: taskLoss(toOutputs(margins, train.rows, classes), train.y, classes),
    };
    if (data.validation.rows > 0) {
      const loss = taskLoss(
        toOutputs(validationMargins, data.validation.rows, classes),
        data.validation.y,
        classes,
      );
      metrics.validationLoss = loss;
      if (loss < best.loss - 1e-12) best = { loss, round };
    } else best = { loss: metrics.trainLoss!, round };
    options.onProgress?.({ recipe: "gbt", iteration: round, of: params.nEstimators, metrics });
    if (params.patience > 0 && round - best.round >= params.patience) break;
  }
  // With early stopping the best validation round's prefix is kept; without it, every round.
  const rounds = params.patience > 0 ? best.round : round;
  const kept = trees.slice(0, rounds * outputs);
  const predict = (x: Float32Array, rows: number) => {
    const m = new Float64Array(rows * outputs);
    for (let i = 0; i < rows; i++) {
      for (let k = 0; k < outputs; k++) {
        let s = base[k]!;
        for (let t = k; t < kept.length; t += outputs) s += treeValue(kept[t]!, x, i * width);
        m[i * outputs + k] = s;
      }
    }
    return toOutputs(m, rows, classes);
  };
  return {
    recipe: "gbt",
    params: { ...params },
    iterations: rounds,
    opsets: [ML_OPSET],
    predict,
    exportHead: (g, design) => exportBoosted(g, design, kept, base, outputs, classes),
  };
}

/** `size` of `all` without replacement (partial Fisher–Yates on a copy). */
function sampleRows(all: Uint32Array, size: number, random: () => number): Uint32Array {
  const pool = Uint32Array.from(all);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    const v = pool[j]!;
    pool[j] = pool[i]!;
    pool[i] = v;
  }
  return pool.subarray(0, size);
}

/** Starting scores: the target mean, the prior log-odds, or the log class priors. */
function initialScores(y: Float64Array, classes: number): number[] {
  if (classes === 0) return [y.reduce((a, b) => a + b, 0) / y.length];
  const counts = new Array<number>(classes).fill(0);
  for (const v of y) counts[v]!++;
  const prior = counts.map((c) => Math.max(c, 1) / y.length);
  if (classes === 2) return [Math.log(prior[1]! / prior[0]!)];
  return prior.map(Math.log);
}

/** Margins → probabilities [rows × classes] (classification) or the margins (regression). */
function toOutputs(margins: Float64Array, rows: number, classes: number): Float64Array {
  if (classes === 0) return Float64Array.from(margins);
  if (classes === 2) return binaryProbabilities(margins, rows);
  const p = Float64Array.from(margins);
  for (let i = 0; i < rows; i++) softmaxInPlace(p, i * classes, classes);
  return p;
}

/** The boosted trees as one ONNX-ML ensemble node: margins, then LOGISTIC (binary) or SOFTMAX. */
function exportBoosted(
  g: GraphBuilder,
  design: string,
  trees: TreeNode[][],
  base: number[],
  outputs: number,
  classes: number,
): void {
  const ensemble = trees.map((nodes, t) => ({ nodes, output: t % outputs }));
  if (ensemble.length === 0) ensemble.push({ nodes: [{ leaf: true, values: [0] }], output: 0 });
  // onnxruntime treats a binary ensemble whose leaf weights are all >= 0 as already holding
  // probabilities; one leaf worth -1e-30 (no effect on any margin) keeps it on the logit path.
  if (classes === 2 && ensemble.every((t) => t.nodes.every((n) => !n.leaf || n.values[0]! >= 0))) {
    ensemble.push({ nodes: [{ leaf: true, values: [-1e-30] }], output: 0 });
  }
  exportEnsemble(g, design, {
    trees: ensemble,
    classes,
    base,
    scale: 1,
    postTransform: classes === 0 ? "NONE" : classes === 2 ? "LOGISTIC" : "SOFTMAX",
  });
}

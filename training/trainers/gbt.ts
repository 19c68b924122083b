/**
 * Gradient-boosted trees: squared error for regression, logistic loss for two classes, softmax
 * (one tree per class per round) for more, with early stopping on the validation loss. Exported
 * as ONNX-ML TreeEnsembleRegressor / TreeEnsembleClassifier (domain ai.onnx.ml, opset 3), which
 * onnxruntime 1.30 runs natively.
 */
import { z } from "zod";
import type { AttributeValue, GraphBuilder } from "../../modules/onnx/builder.js";
import { binaryProbabilities, OUTPUTS, regressionOutput, softmaxInPlace, taskLoss } from "./heads.js";
import { binFeatures, fitTree, type TreeNode, treeValue } from "./tree.js";
import type { FitOptions, TrainedModel, TrainingData } from "./types.js";

export const GbtParamsSchema = z
  .object({
    nEstimators: z.number().int().min(1).max(5000).default(100),
    learningRate: z.number().positive().max(1).default(0.1),
    maxDepth: z.number().int().min(1).max(12).default(3),
    minSamplesLeaf: z.number().int().min(1).default(5),
    /** L2 penalty on leaf values. */
    lambda: z.number().min(0).default(1),
    /** Histogram bins per feature (at most 255). */
    maxBins: z.number().int().min(2).max(255).default(64),
    /** Rounds without a better validation loss before stopping; 0 turns early stopping off. */
    patience: z.number().int().min(0).default(20),
  })
  .strict();
export type GbtParams = z.infer<typeof GbtParamsSchema>;

export const ML_OPSET = { domain: "ai.onnx.ml", version: 3 };

/** Fits boosted trees; `trees[round * outputs + k]` belongs to output k. */
export function fitGbt(data: TrainingData, params: GbtParams, options: FitOptions): TrainedModel {
  const { width, classes } = data;
  const outputs = classes > 2 ? classes : 1;
  const train = data.train;
  const base = initialScores(train.y, classes).map(Math.fround);
  const binned = binFeatures(train.x, train.rows, width, params.maxBins);
  const all = Uint32Array.from({ length: train.rows }, (_, i) => i);
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
  let best = { loss: Number.POSITIVE_INFINITY, round: 0 };
  let round = 0;
  while (round < params.nEstimators) {
    round++;
    const probabilities = toOutputs(margins, train.rows, classes);
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
      const tree = fitTree(binned, all, gradients, hessians, treeOptions);
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
  const kept = trees.slice(0, best.round * outputs);
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
    iterations: best.round,
    opsets: [ML_OPSET],
    predict,
    exportHead: (g, design) => exportTrees(g, design, kept, base, outputs, classes),
  };
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

/** Writes the ensemble as one TreeEnsembleRegressor or TreeEnsembleClassifier node. */
function exportTrees(
  g: GraphBuilder,
  design: string,
  trees: TreeNode[][],
  base: number[],
  outputs: number,
  classes: number,
): void {
  const ensemble = trees.length > 0 ? [...trees] : [[{ leaf: true, value: 0 } as TreeNode]];
  // onnxruntime treats a binary ensemble whose leaf weights are all >= 0 as already holding
  // probabilities; one leaf worth -1e-30 (no effect on any margin) keeps it on the logit path.
  if (classes === 2 && ensemble.every((t) => t.every((n) => !n.leaf || n.value >= 0))) {
    ensemble.push([{ leaf: true, value: -1e-30 }]);
  }
  const nodes = {
    treeids: [] as number[],
    nodeids: [] as number[],
    featureids: [] as number[],
    modes: [] as string[],
  };
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const leaves = {
    treeids: [] as number[],
    nodeids: [] as number[],
    ids: [] as number[],
    weights: [] as number[],
  };
  ensemble.forEach((tree, t) => {
    const output = t < trees.length ? t % outputs : 0;
    tree.forEach((node, id) => {
      nodes.treeids.push(t);
      nodes.nodeids.push(id);
      nodes.featureids.push(node.leaf ? 0 : node.feature);
      nodes.modes.push(node.leaf ? "LEAF" : "BRANCH_LEQ");
      values.push(node.leaf ? 0 : node.threshold);
      trueIds.push(node.leaf ? 0 : node.left);
      falseIds.push(node.leaf ? 0 : node.right);
      if (node.leaf) {
        leaves.treeids.push(t);
        leaves.nodeids.push(id);
        leaves.ids.push(output);
        leaves.weights.push(node.value);
      }
    });
  });
  const common: Record<string, AttributeValue> = {
    nodes_treeids: nodes.treeids,
    nodes_nodeids: nodes.nodeids,
    nodes_featureids: nodes.featureids,
    nodes_modes: nodes.modes,
    nodes_values: { floats: values },
    nodes_truenodeids: trueIds,
    nodes_falsenodeids: falseIds,
    nodes_missing_value_tracks_true: nodes.treeids.map(() => 0),
    base_values: { floats: base },
  };
  if (classes === 0) {
    g.node(
      "TreeEnsembleRegressor",
      [design],
      [OUTPUTS.prediction],
      {
        ...common,
        n_targets: 1,
        aggregate_function: "SUM",
        post_transform: "NONE",
        target_treeids: leaves.treeids,
        target_nodeids: leaves.nodeids,
        target_ids: leaves.ids,
        target_weights: { floats: leaves.weights },
      },
      ML_OPSET.domain,
    );
    regressionOutput(g);
    return;
  }
  g.node(
    "TreeEnsembleClassifier",
    [design],
    [OUTPUTS.label, OUTPUTS.probabilities],
    {
      ...common,
      classlabels_int64s: Array.from({ length: classes }, (_, k) => k),
      post_transform: classes === 2 ? "LOGISTIC" : "SOFTMAX",
      class_treeids: leaves.treeids,
      class_nodeids: leaves.nodeids,
      class_ids: leaves.ids,
      class_weights: { floats: leaves.weights },
    },
    ML_OPSET.domain,
  );
  g.output(OUTPUTS.label, "INT64", ["batch"]);
  g.output(OUTPUTS.probabilities, "FP32", ["batch", classes]);
}

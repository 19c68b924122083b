/**
 * Random forest (Breiman 2001): each tree is grown deep on a bootstrap sample of the training
 * rows, examining a random subset of the features at every split; the forest averages the trees'
 * class frequencies (classification, Gini splits) or means (regression, squared-error splits).
 * Exported as one ONNX-ML TreeEnsemble node whose leaf weights are pre-divided by the tree count,
 * so onnxruntime's sums are the averages. Trees do not see the validation split; it is reported.
 */
import { z } from "zod";
import { seededRandom } from "../../modules/onnx/random.js";
import { taskLoss } from "./heads.js";
import { binFeatures, fitTree, type TreeNode, treeLeaf } from "./tree.js";
import { exportEnsemble, leafWeight, ML_OPSET } from "./tree-export.js";
import type { FitOptions, TrainedModel, TrainingData } from "./types.js";

export const ForestParamsSchema = z
  .object({
    nEstimators: z.number().int().min(1).max(2000).default(100),
    /** Deepest level; absent: grown until leaves are pure or hold minSamplesLeaf rows. */
    maxDepth: z.number().int().min(1).max(64).optional(),
    minSamplesLeaf: z.number().int().min(1).default(1),
    /**
     * Features examined per split: "sqrt", "log2", "all", or a fraction of them in (0, 1].
     * Default: "sqrt" for classification, "all" for regression (scikit-learn's defaults).
     */
    maxFeatures: z.union([z.enum(["sqrt", "log2", "all"]), z.number().positive().max(1)]).optional(),
    /** Draw each tree's rows with replacement (false: every tree sees every training row). */
    bootstrap: z.boolean().default(true),
    /** Histogram bins per feature (at most 255). */
    maxBins: z.number().int().min(2).max(255).default(255),
  })
  .strict();
export type ForestParams = z.infer<typeof ForestParamsSchema>;

/** Deepest tree when `maxDepth` is absent: deep enough for any node to be pure, bounded for recursion. */
const UNBOUNDED_DEPTH = 64;

/** How many features a split examines. */
export function featuresPerSplit(
  setting: ForestParams["maxFeatures"],
  width: number,
  classification: boolean,
): number {
  const chosen = setting ?? (classification ? "sqrt" : "all");
  const count =
    chosen === "sqrt"
      ? Math.sqrt(width)
      : chosen === "log2"
        ? Math.log2(width)
        : chosen === "all"
          ? width
          : chosen * width;
  return Math.min(width, Math.max(1, Math.floor(count)));
}

export function fitForest(data: TrainingData, params: ForestParams, options: FitOptions): TrainedModel {
  const { width, classes } = data;
  const train = data.train;
  const outputs = classes > 0 ? classes : 1;
  const random = seededRandom(options.seed * 0x9e3779b1 + 7);
  const binned = binFeatures(train.x, train.rows, width, params.maxBins);
  // Growing on -y (or -onehot(y)) with hessian 1 and no penalty: leaf = mean (or class frequencies).
  const gradients = new Float64Array(train.rows * outputs);
  for (let i = 0; i < train.rows; i++) {
    if (classes > 0) gradients[i * outputs + train.y[i]!] = -1;
    else gradients[i] = -train.y[i]!;
  }
  const targets = { outputs, gradients, hessians: new Float64Array(train.rows).fill(1) };
  const maxFeatures = featuresPerSplit(params.maxFeatures, width, classes > 0);
  const treeOptions = {
    maxDepth: params.maxDepth ?? UNBOUNDED_DEPTH,
    minSamplesLeaf: params.minSamplesLeaf,
    lambda: 0,
    shrinkage: 1,
    maxFeatures,
    random,
  };
  const scale = 1 / params.nEstimators;
  const trees: TreeNode[][] = [];
  const sums = {
    train: new Float64Array(train.rows * outputs),
    validation: new Float64Array(data.validation.rows * outputs),
  };
  const add = (tree: TreeNode[], x: Float32Array, rows: number, into: Float64Array) => {
    for (let i = 0; i < rows; i++) {
      const leaf = treeLeaf(tree, x, i * width);
      for (let k = 0; k < outputs; k++) into[i * outputs + k]! += leafWeight(leaf[k]!, scale);
    }
  };
  const sample = new Uint32Array(train.rows);
  for (let t = 0; t < params.nEstimators; t++) {
    for (let i = 0; i < train.rows; i++) sample[i] = params.bootstrap ? Math.floor(random() * train.rows) : i;
    const tree = fitTree(binned, sample, targets, treeOptions);
    trees.push(tree);
    add(tree, train.x, train.rows, sums.train);
    add(tree, data.validation.x, data.validation.rows, sums.validation);
    // Progress every tenth of the forest: the partial average, rescaled to the trees so far.
    if ((t + 1) % Math.max(1, Math.floor(params.nEstimators / 10)) === 0 || t + 1 === params.nEstimators) {
      const factor = params.nEstimators / (t + 1);
      const metrics: Record<string, number> = {
        trainLoss: taskLoss(
          sums.train.map((v) => v * factor),
          train.y,
          classes,
        ),
      };
      if (data.validation.rows > 0) {
        metrics.validationLoss = taskLoss(
          sums.validation.map((v) => v * factor),
          data.validation.y,
          classes,
        );
      }
      options.onProgress?.({ recipe: "forest", iteration: t + 1, of: params.nEstimators, metrics });
    }
  }
  const predict = (x: Float32Array, rows: number) => {
    const out = new Float64Array(rows * outputs);
    for (const tree of trees) add(tree, x, rows, out);
    return out;
  };
  return {
    recipe: "forest",
    params: { ...params, maxFeatures: params.maxFeatures ?? (classes > 0 ? "sqrt" : "all") },
    iterations: trees.length,
    opsets: [ML_OPSET],
    predict,
    exportHead: (g, design) =>
      exportEnsemble(g, design, {
        trees: trees.map((nodes) => ({ nodes })),
        classes,
        base: new Array<number>(outputs).fill(0),
        scale,
        postTransform: "NONE",
      }),
  };
}

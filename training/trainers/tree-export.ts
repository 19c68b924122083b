/**
 * Tree ensembles as one ONNX-ML node (domain ai.onnx.ml, opset 3, which onnxruntime runs
 * natively): TreeEnsembleRegressor for regression, TreeEnsembleClassifier with `label` and
 * `probabilities` for classification. Boosting adds margins (one tree per output, then LOGISTIC or
 * SOFTMAX); a forest adds each tree's class frequencies or mean, pre-divided by the tree count.
 */
import type { AttributeValue, GraphBuilder } from "../../modules/onnx/builder.js";
import { OUTPUTS, regressionOutput } from "./heads.js";
import type { TreeNode } from "./tree.js";

export const ML_OPSET = { domain: "ai.onnx.ml", version: 3 };

/** One tree and where its leaves go: `output` for a single-output tree, else leaf value k → output k. */
export interface EnsembleTree {
  nodes: TreeNode[];
  output?: number;
}

export interface EnsembleSpec {
  trees: EnsembleTree[];
  /** Number of classes; 0 for regression. */
  classes: number;
  /** Added to every row's sums, one per output (one for regression and binary boosting). */
  base: number[];
  /** Multiplies every leaf value when writing it (a forest's 1 / trees). */
  scale: number;
  /** Applied to the sums: none (a forest's averaged probabilities), logistic or softmax (boosting). */
  postTransform: "NONE" | "LOGISTIC" | "SOFTMAX";
}

/** The float32 weight a leaf value is written as: the in-process model must add exactly these. */
export function leafWeight(value: number, scale: number): number {
  return Math.fround(value * scale);
}

/** Writes the ensemble from the design value to the model's outputs. */
export function exportEnsemble(g: GraphBuilder, design: string, spec: EnsembleSpec): void {
  const { classes } = spec;
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
  spec.trees.forEach((tree, t) => {
    tree.nodes.forEach((node, id) => {
      nodes.treeids.push(t);
      nodes.nodeids.push(id);
      nodes.featureids.push(node.leaf ? 0 : node.feature);
      nodes.modes.push(node.leaf ? "LEAF" : "BRANCH_LEQ");
      values.push(node.leaf ? 0 : node.threshold);
      trueIds.push(node.leaf ? 0 : node.left);
      falseIds.push(node.leaf ? 0 : node.right);
      if (!node.leaf) return;
      const targets =
        tree.output !== undefined ? [[tree.output, node.values[0]!]] : node.values.map((v, k) => [k, v]);
      for (const [output, value] of targets) {
        leaves.treeids.push(t);
        leaves.nodeids.push(id);
        leaves.ids.push(output!);
        leaves.weights.push(leafWeight(value!, spec.scale));
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
    base_values: { floats: spec.base },
  };
  // onnxruntime's TreeEnsembleClassifier special-cases two classes (its scores are taken as one
  // margin or one probability), so averaged two-class frequencies go through a regressor on
  // class 1's frequency, then [1 - p, p] and argmax.
  const binaryAverage = classes === 2 && spec.postTransform === "NONE";
  if (binaryAverage) {
    const one = leaves.ids.map((id) => id === 1);
    for (const key of ["treeids", "nodeids", "ids", "weights"] as const) {
      leaves[key] = leaves[key].filter((_, i) => one[i]);
    }
    leaves.ids = leaves.ids.map(() => 0);
    common.base_values = { floats: [spec.base[1] ?? 0] };
  }
  if (classes === 0 || binaryAverage) {
    const output = binaryAverage ? "forest/p1" : OUTPUTS.prediction;
    g.node(
      "TreeEnsembleRegressor",
      [design],
      [output],
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
    if (!binaryAverage) {
      regressionOutput(g);
      return;
    }
    g.initializer("forest/one", Float32Array.of(1), [1, 1]);
    g.node("Sub", ["forest/one", output], ["forest/p0"]);
    g.node("Concat", ["forest/p0", output], [OUTPUTS.probabilities], { axis: 1 });
    g.node("ArgMax", [OUTPUTS.probabilities], [OUTPUTS.label], { axis: 1, keepdims: 0 });
    g.output(OUTPUTS.label, "INT64", ["batch"]);
    g.output(OUTPUTS.probabilities, "FP32", ["batch", classes]);
    return;
  }
  g.node(
    "TreeEnsembleClassifier",
    [design],
    [OUTPUTS.label, OUTPUTS.probabilities],
    {
      ...common,
      classlabels_int64s: Array.from({ length: classes }, (_, k) => k),
      post_transform: spec.postTransform,
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

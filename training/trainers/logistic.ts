/**
 * Logistic regression (two classes: one weight vector and a sigmoid) and softmax regression
 * (more classes), L2-penalised, fitted by full-batch Adam on the cross-entropy. Zero initial
 * weights and full batches make it deterministic without a random stream.
 */
import { z } from "zod";
import type { GraphBuilder } from "../../modules/onnx/builder.js";
import { Adam } from "./adam.js";
import { binaryProbabilities, classifierOutputs, denseNodes, logLoss, softmaxInPlace } from "./heads.js";
import type { DesignSet, FitOptions, TrainedModel, TrainingData } from "./types.js";

export const LogisticParamsSchema = z
  .object({
    /**
     * L2 penalty on the weights (not the bias), per row: scikit-learn's C = 1 / (l2 · rows), so
     * 1e-3 is its default C = 1 at 1,000 rows. 1e-4 let near-separable data (breast cancer) overfit.
     */
    l2: z.number().min(0).default(1e-3),
    learningRate: z.number().positive().default(0.1),
    /** Enough for full-batch Adam to reach the optimum on the reference data sets (most stop at the tolerance). */
    epochs: z.number().int().min(1).max(100_000).default(1000),
    /** Stop when the training loss improves by less than this. */
    tolerance: z.number().min(0).default(1e-7),
  })
  .strict();
export type LogisticParams = z.infer<typeof LogisticParamsSchema>;

/** Scores [rows × outputs] = x · W + b, with W and b in one flat vector (bias row last). */
function scores(
  params: Float64Array,
  set: { x: Float32Array; rows: number },
  width: number,
  outputs: number,
) {
  const out = new Float64Array(set.rows * outputs);
  for (let i = 0; i < set.rows; i++) {
    for (let k = 0; k < outputs; k++) {
      let s = params[width * outputs + k]!;
      for (let j = 0; j < width; j++) s += set.x[i * width + j]! * params[j * outputs + k]!;
      out[i * outputs + k] = s;
    }
  }
  return out;
}

/** Probabilities [rows × classes]; the binary model's score is the logit of class 1. */
function probabilities(
  params: Float64Array,
  set: { x: Float32Array; rows: number },
  width: number,
  classes: number,
) {
  const outputs = classes === 2 ? 1 : classes;
  const s = scores(params, set, width, outputs);
  if (classes !== 2) {
    for (let i = 0; i < set.rows; i++) softmaxInPlace(s, i * classes, classes);
    return s;
  }
  return binaryProbabilities(s, set.rows);
}

/** Fits logistic/softmax regression; classification only. */
export function fitLogistic(data: TrainingData, params: LogisticParams, options: FitOptions): TrainedModel {
  const { width, classes } = data;
  const outputs = classes === 2 ? 1 : classes;
  const theta = new Float64Array((width + 1) * outputs);
  const grads = new Float64Array(theta.length);
  const adam = new Adam(theta.length, params.learningRate);
  const train: DesignSet = data.train;
  let previous = Number.POSITIVE_INFINITY;
  let epoch = 0;
  while (epoch < params.epochs) {
    epoch++;
    const p = probabilities(theta, train, width, classes);
    grads.fill(0);
    for (let i = 0; i < train.rows; i++) {
      const yi = train.y[i]!;
      for (let k = 0; k < outputs; k++) {
        // d(loss)/d(score): p - onehot; for the binary model the score is class 1's logit.
        const target = classes === 2 ? (yi === 1 ? 1 : 0) : yi === k ? 1 : 0;
        const err = (classes === 2 ? p[2 * i + 1]! : p[i * classes + k]!) - target;
        for (let j = 0; j < width; j++) grads[j * outputs + k]! += err * train.x[i * width + j]!;
        grads[width * outputs + k]! += err;
      }
    }
    for (let j = 0; j < width * outputs; j++) grads[j] = grads[j]! / train.rows + params.l2 * theta[j]!;
    for (let k = 0; k < outputs; k++) grads[width * outputs + k]! /= train.rows;
    adam.step(theta, grads);
    const trainLoss = logLoss(p, train.y, classes);
    const metrics: Record<string, number> = { trainLoss };
    if (data.validation.rows > 0) {
      metrics.validationLoss = logLoss(
        probabilities(theta, data.validation, width, classes),
        data.validation.y,
        classes,
      );
    }
    options.onProgress?.({ recipe: "logistic", iteration: epoch, of: params.epochs, metrics });
    if (Math.abs(previous - trainLoss) < params.tolerance) break;
    previous = trainLoss;
  }
  // The shipped weights are float32; predict with exactly those.
  const final = Float64Array.from(Float32Array.from(theta));
  return {
    recipe: "logistic",
    params: { ...params },
    iterations: epoch,
    opsets: [],
    predict: (x, rows) => probabilities(final, { x, rows }, width, classes),
    exportHead: (g: GraphBuilder, design: string) => {
      // The binary model ships as two logits [0, z]: softmax of those is [1 - σ(z), σ(z)].
      const weights = new Float32Array(width * classes);
      const bias = new Float32Array(classes);
      for (let j = 0; j <= width; j++) {
        for (let k = 0; k < classes; k++) {
          const value = classes === 2 ? (k === 1 ? final[j]! : 0) : final[j * classes + k]!;
          if (j < width) weights[j * classes + k] = value;
          else bias[k] = value;
        }
      }
      classifierOutputs(g, denseNodes(g, design, "logistic", weights, bias, width), classes);
    },
  };
}

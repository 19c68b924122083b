/** Graph pieces shared by the linear and neural heads, and the output names every model uses. */
import type { GraphBuilder } from "../../modules/onnx/builder.js";

export const OUTPUTS = { label: "label", probabilities: "probabilities", prediction: "prediction" } as const;

/** `y = x · W + b` with W row-major [inputs, outputs]; returns the output value name. */
export function denseNodes(
  g: GraphBuilder,
  input: string,
  name: string,
  weights: Float32Array,
  bias: Float32Array,
  inputs: number,
): string {
  g.initializer(`${name}/w`, weights, [inputs, bias.length]);
  g.initializer(`${name}/b`, bias, [bias.length]);
  g.node("MatMul", [input, `${name}/w`], [`${name}/mm`]);
  g.node("Add", [`${name}/mm`, `${name}/b`], [`${name}/out`]);
  return `${name}/out`;
}

/** Logits [batch, classes] → `probabilities` (softmax) and `label` (argmax, INT64). */
export function classifierOutputs(g: GraphBuilder, logits: string, classes: number): void {
  g.node("Softmax", [logits], [OUTPUTS.probabilities], { axis: 1 });
  g.node("ArgMax", [OUTPUTS.probabilities], [OUTPUTS.label], { axis: 1, keepdims: 0 });
  g.output(OUTPUTS.label, "INT64", ["batch"]);
  g.output(OUTPUTS.probabilities, "FP32", ["batch", classes]);
}

/** Declares the regression output (a [batch, 1] value already named `prediction`). */
export function regressionOutput(g: GraphBuilder): void {
  g.output(OUTPUTS.prediction, "FP32", ["batch", 1]);
}

/** In-place softmax over `row[offset .. offset+size)`. */
/** Two-class probabilities [rows × 2] from the logits of class 1. */
export function binaryProbabilities(logits: Float64Array, rows: number): Float64Array {
  const p = new Float64Array(rows * 2);
  for (let i = 0; i < rows; i++) {
    const one = 1 / (1 + Math.exp(-logits[i]!));
    p[2 * i] = 1 - one;
    p[2 * i + 1] = one;
  }
  return p;
}

export function softmaxInPlace(row: Float64Array, offset: number, size: number): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < size; k++) max = Math.max(max, row[offset + k]!);
  let sum = 0;
  for (let k = 0; k < size; k++) {
    const e = Math.exp(row[offset + k]! - max);
    row[offset + k] = e;
    sum += e;
  }
  for (let k = 0; k < size; k++) row[offset + k]! /= sum;
}

/** Mean cross-entropy of probabilities [rows × classes] against class indices. */
export function logLoss(probabilities: Float64Array, y: Float64Array, classes: number): number {
  if (y.length === 0) return Number.NaN;
  let loss = 0;
  for (let i = 0; i < y.length; i++) loss -= Math.log(Math.max(probabilities[i * classes + y[i]!]!, 1e-15));
  return loss / y.length;
}

/** Mean squared error. */
export function meanSquaredError(predictions: Float64Array, y: Float64Array): number {
  if (y.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += (predictions[i]! - y[i]!) ** 2;
  return sum / y.length;
}

/** The task's loss: log loss for classification (classes > 0), MSE for regression. */
export function taskLoss(predictions: Float64Array, y: Float64Array, classes: number): number {
  return classes > 0 ? logLoss(predictions, y, classes) : meanSquaredError(predictions, y);
}

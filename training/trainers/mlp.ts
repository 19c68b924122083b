/**
 * A multilayer perceptron: dense layers with ReLU between them, Glorot-initialised from the seed,
 * trained by mini-batch Adam (cross-entropy for classification, MSE on the standardised target for
 * regression), with early stopping on the validation loss: the best epoch's weights are kept.
 */
import { z } from "zod";
import type { GraphBuilder } from "../../modules/onnx/builder.js";
import { glorotUniform, seededRandom } from "../../modules/onnx/random.js";
import { Adam } from "./adam.js";
import {
  classifierOutputs,
  denseNodes,
  OUTPUTS,
  regressionOutput,
  softmaxInPlace,
  taskLoss,
} from "./heads.js";
import type { FitOptions, TrainedModel, TrainingData } from "./types.js";

export const MlpParamsSchema = z
  .object({
    hidden: z.array(z.number().int().min(1).max(4096)).max(8).default([32]),
    learningRate: z.number().positive().default(0.01),
    epochs: z.number().int().min(1).max(10_000).default(200),
    batchSize: z.number().int().min(1).default(32),
    l2: z.number().min(0).default(1e-5),
    /** Epochs without a better validation loss before stopping; 0 turns early stopping off. */
    patience: z.number().int().min(0).default(15),
  })
  .strict();
export type MlpParams = z.infer<typeof MlpParamsSchema>;

interface Layer {
  inputs: number;
  outputs: number;
  /** Offset of this layer's weights [inputs × outputs] then bias [outputs] in the flat vector. */
  offset: number;
}

/** Forward pass of one row; fills `acts[l]` with each layer's output (post-ReLU except the last). */
function forwardRow(
  theta: ArrayLike<number>,
  layers: Layer[],
  x: Float32Array,
  row: number,
  acts: Float64Array[],
): void {
  let input: ArrayLike<number> = x.subarray(row * layers[0]!.inputs, (row + 1) * layers[0]!.inputs);
  layers.forEach((layer, l) => {
    const out = acts[l]!;
    const bias = layer.offset + layer.inputs * layer.outputs;
    for (let k = 0; k < layer.outputs; k++) out[k] = theta[bias + k]!;
    for (let j = 0; j < layer.inputs; j++) {
      const xj = input[j]!;
      if (xj === 0) continue;
      const base = layer.offset + j * layer.outputs;
      for (let k = 0; k < layer.outputs; k++) out[k]! += xj * theta[base + k]!;
    }
    if (l < layers.length - 1) for (let k = 0; k < layer.outputs; k++) out[k] = Math.max(0, out[k]!);
    input = out;
  });
}

/** Fits an MLP classifier or regressor. */
export function fitMlp(data: TrainingData, params: MlpParams, options: FitOptions): TrainedModel {
  const { width, classes } = data;
  const outputs = classes > 0 ? classes : 1;
  const sizes = [width, ...params.hidden, outputs];
  const layers: Layer[] = [];
  let size = 0;
  for (let l = 0; l < sizes.length - 1; l++) {
    layers.push({ inputs: sizes[l]!, outputs: sizes[l + 1]!, offset: size });
    size += sizes[l]! * sizes[l + 1]! + sizes[l + 1]!;
  }
  const random = seededRandom(options.seed);
  const theta = new Float64Array(size);
  for (const layer of layers) theta.set(glorotUniform(random, layer.inputs, layer.outputs), layer.offset);

  // Regression learns a standardised target; the graph scales the output back.
  let yMean = 0;
  let yStd = 1;
  if (classes === 0) {
    const ys = data.train.y;
    // float32, as the graph holds them, so in-process and ONNX predictions agree.
    yMean = Math.fround(ys.reduce((a, b) => a + b, 0) / ys.length);
    yStd = Math.fround(Math.sqrt(ys.reduce((a, b) => a + (b - yMean) ** 2, 0) / ys.length)) || 1;
  }
  const target = (y: number) => (classes > 0 ? y : (y - yMean) / yStd);

  const acts = layers.map((layer) => new Float64Array(layer.outputs));
  const deltas = layers.map((layer) => new Float64Array(layer.outputs));
  const predictWith = (weights: ArrayLike<number>, x: Float32Array, rows: number): Float64Array => {
    const out = new Float64Array(rows * outputs);
    const local = layers.map((layer) => new Float64Array(layer.outputs));
    for (let i = 0; i < rows; i++) {
      forwardRow(weights, layers, x, i, local);
      out.set(local[layers.length - 1]!, i * outputs);
      if (classes > 0) softmaxInPlace(out, i * outputs, outputs);
      else out[i] = out[i]! * yStd + yMean;
    }
    return out;
  };

  const grads = new Float64Array(size);
  const adam = new Adam(size, params.learningRate);
  const order = Array.from({ length: data.train.rows }, (_, i) => i);
  const monitor = data.validation.rows > 0 ? data.validation : data.train;
  let best = { loss: Number.POSITIVE_INFINITY, theta: Float64Array.from(theta), epoch: 0 };
  let epoch = 0;
  while (epoch < params.epochs) {
    epoch++;
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let start = 0; start < order.length; start += params.batchSize) {
      const batch = order.slice(start, start + params.batchSize);
      grads.fill(0);
      for (const row of batch) backward(row);
      for (let p = 0; p < size; p++) grads[p] = grads[p]! / batch.length + params.l2 * theta[p]!;
      adam.step(theta, grads);
    }
    const trainLoss = taskLoss(predictWith(theta, data.train.x, data.train.rows), data.train.y, classes);
    const monitored =
      monitor === data.train
        ? trainLoss
        : taskLoss(predictWith(theta, monitor.x, monitor.rows), monitor.y, classes);
    const metrics: Record<string, number> = { trainLoss };
    if (monitor !== data.train) metrics.validationLoss = monitored;
    options.onProgress?.({ recipe: "mlp", iteration: epoch, of: params.epochs, metrics });
    if (monitored < best.loss - 1e-9) best = { loss: monitored, theta: Float64Array.from(theta), epoch };
    else if (params.patience > 0 && epoch - best.epoch >= params.patience) break;
  }

  function backward(row: number): void {
    forwardRow(theta, layers, data.train.x, row, acts);
    const last = layers.length - 1;
    const out = deltas[last]!;
    out.set(acts[last]!);
    if (classes > 0) {
      softmaxInPlace(out, 0, outputs);
      out[data.train.y[row]!]! -= 1;
    } else out[0] = out[0]! - target(data.train.y[row]!);
    for (let l = last; l >= 0; l--) {
      const layer = layers[l]!;
      const delta = deltas[l]!;
      const input: ArrayLike<number> =
        l === 0 ? data.train.x.subarray(row * width, (row + 1) * width) : acts[l - 1]!;
      const bias = layer.offset + layer.inputs * layer.outputs;
      for (let k = 0; k < layer.outputs; k++) grads[bias + k]! += delta[k]!;
      for (let j = 0; j < layer.inputs; j++) {
        const xj = input[j]!;
        if (xj === 0) continue;
        const base = layer.offset + j * layer.outputs;
        for (let k = 0; k < layer.outputs; k++) grads[base + k]! += xj * delta[k]!;
      }
      if (l > 0) {
        const previous = deltas[l - 1]!;
        const activation = acts[l - 1]!;
        for (let j = 0; j < layer.inputs; j++) {
          if (activation[j]! <= 0) {
            previous[j] = 0;
            continue;
          }
          let s = 0;
          const base = layer.offset + j * layer.outputs;
          for (let k = 0; k < layer.outputs; k++) s += theta[base + k]! * delta[k]!;
          previous[j] = s;
        }
      }
    }
  }

  const final = Float32Array.from(best.theta);
  return {
    recipe: "mlp",
    params: { ...params },
    iterations: epoch,
    opsets: [],
    predict: (x, rows) => predictWith(final, x, rows),
    exportHead: (g: GraphBuilder, design: string) => {
      let current = design;
      layers.forEach((layer, l) => {
        const weights = final.slice(layer.offset, layer.offset + layer.inputs * layer.outputs);
        const bias = final.slice(
          layer.offset + layer.inputs * layer.outputs,
          layer.offset + layer.inputs * layer.outputs + layer.outputs,
        );
        current = denseNodes(g, current, `mlp/layer${l}`, weights, bias, layer.inputs);
        if (l < layers.length - 1) {
          g.node("Relu", [current], [`mlp/relu${l}`]);
          current = `mlp/relu${l}`;
        }
      });
      if (classes > 0) classifierOutputs(g, current, classes);
      else {
        g.initializer("mlp/y_std", Float32Array.of(yStd), [1]);
        g.initializer("mlp/y_mean", Float32Array.of(yMean), [1]);
        g.node("Mul", [current, "mlp/y_std"], ["mlp/scaled"]);
        g.node("Add", ["mlp/scaled", "mlp/y_mean"], [OUTPUTS.prediction]);
        regressionOutput(g);
      }
    },
  };
}

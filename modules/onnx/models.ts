/**
 * Ready-made ONNX models, deterministic from a seed, each with a pure-JS reference so tests can
 * compare onnxruntime's answers. Built-in trainers export through `mlpFromLayers` with learned weights.
 */
import { GraphBuilder, type ModelOptions } from "./builder.js";
import { glorotUniform, seededRandom } from "./random.js";

/** One fully connected layer: `y = x · weights + bias`, weights row-major [inputs, outputs]. */
export interface DenseLayer {
  inputs: number;
  outputs: number;
  weights: Float32Array;
  bias: Float32Array;
}

export interface MlpModel {
  bytes: Uint8Array;
  inputName: string;
  outputName: string;
  layers: DenseLayer[];
  /** Reference forward pass in float64 over the float32 weights (compare with a small tolerance). */
  predict(rows: number[][]): number[][];
}

export interface MlpExportOptions {
  graphName?: string;
  inputName?: string;
  outputName?: string;
  /** Model-level options (opset, metadata, producer) passed to `toModel`. */
  model?: ModelOptions;
}

/** Runs dense layers with ReLU between them (not after the last), as the exported graph does. */
export function denseForward(layers: DenseLayer[], rows: number[][]): number[][] {
  return rows.map((row) => {
    let x = row;
    layers.forEach((layer, index) => {
      if (x.length !== layer.inputs)
        throw new Error(`row has ${x.length} values, layer expects ${layer.inputs}`);
      const y = Array.from(layer.bias, (b) => b);
      for (let i = 0; i < layer.inputs; i++) {
        const xi = x[i]!;
        for (let j = 0; j < layer.outputs; j++) y[j]! += xi * layer.weights[i * layer.outputs + j]!;
      }
      x = index < layers.length - 1 ? y.map((v) => Math.max(0, v)) : y;
    });
    return x;
  });
}

/** Exports dense layers as MatMul + Add (+ Relu between layers) with a dynamic "batch" dimension. */
export function mlpFromLayers(layers: DenseLayer[], options: MlpExportOptions = {}): MlpModel {
  if (layers.length === 0) throw new Error("an MLP needs at least one layer");
  layers.forEach((layer, i) => {
    if (layer.weights.length !== layer.inputs * layer.outputs || layer.bias.length !== layer.outputs) {
      throw new Error(`layer ${i}: weights or bias do not match ${layer.inputs}x${layer.outputs}`);
    }
    if (i > 0 && layers[i - 1]!.outputs !== layer.inputs) throw new Error(`layer ${i}: input size mismatch`);
  });
  const inputName = options.inputName ?? "features";
  const outputName = options.outputName ?? "logits";
  const first = layers[0]!;
  const last = layers[layers.length - 1]!;
  const g = new GraphBuilder(options.graphName ?? "mlp");
  g.input(inputName, "FP32", ["batch", first.inputs]);
  let current = inputName;
  layers.forEach((layer, i) => {
    g.initializer(`w${i}`, layer.weights, [layer.inputs, layer.outputs]);
    g.initializer(`b${i}`, layer.bias, [layer.outputs]);
    const isLast = i === layers.length - 1;
    g.node("MatMul", [current, `w${i}`], [`mm${i}`]);
    g.node("Add", [`mm${i}`, `b${i}`], [isLast ? outputName : `pre${i}`]);
    if (!isLast) g.node("Relu", [`pre${i}`], [`act${i}`]);
    current = `act${i}`;
  });
  g.output(outputName, "FP32", ["batch", last.outputs]);
  return {
    bytes: g.toModel(options.model),
    inputName,
    outputName,
    layers,
    predict: (rows) => denseForward(layers, rows),
  };
}

function randomLayers(sizes: number[], seed: number): DenseLayer[] {
  const random = seededRandom(seed);
  const layers: DenseLayer[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const inputs = sizes[i]!;
    const outputs = sizes[i + 1]!;
    const bias = new Float32Array(outputs).map(() => (random() * 2 - 1) * 0.1);
    layers.push({ inputs, outputs, weights: glorotUniform(random, inputs, outputs), bias });
  }
  return layers;
}

export interface MlpClassifierOptions {
  inputSize: number;
  hiddenSizes: number[];
  classes: number;
  seed: number;
  model?: ModelOptions;
}

/** A random MLP classifier: "features" FP32 [batch, inputSize] → "logits" FP32 [batch, classes]. */
export function buildMlpClassifier(options: MlpClassifierOptions): MlpModel {
  const sizes = [options.inputSize, ...options.hiddenSizes, options.classes];
  return mlpFromLayers(randomLayers(sizes, options.seed), {
    graphName: "mlp_classifier",
    model: options.model,
  });
}

export interface LinearRegressor {
  bytes: Uint8Array;
  inputName: "features";
  outputName: "prediction";
  weights: Float32Array;
  bias: number;
  /** Reference prediction, one number per row. */
  predict(rows: number[][]): number[];
}

/** A linear regressor "features" [batch, inputSize] → "prediction" [batch, 1]; random unless weights given. */
export function buildLinearRegressor(options: {
  inputSize: number;
  seed?: number;
  weights?: ArrayLike<number>;
  bias?: number;
  model?: ModelOptions;
}): LinearRegressor {
  const random = seededRandom(options.seed ?? 1);
  const weights = options.weights
    ? Float32Array.from(options.weights)
    : glorotUniform(random, options.inputSize, 1);
  if (weights.length !== options.inputSize) throw new Error(`need ${options.inputSize} weights`);
  const bias = Math.fround(options.bias ?? random() * 2 - 1);
  const layer: DenseLayer = { inputs: options.inputSize, outputs: 1, weights, bias: Float32Array.of(bias) };
  const mlp = mlpFromLayers([layer], {
    graphName: "linear_regressor",
    outputName: "prediction",
    model: options.model,
  });
  return {
    bytes: mlp.bytes,
    inputName: "features",
    outputName: "prediction",
    weights,
    bias,
    predict: (rows) => mlp.predict(rows).map((r) => r[0]!),
  };
}

/**
 * An INT64 model: "ids" INT64 [batch, length] → "sum" FP32 [batch, 1] (Cast + ReduceSum) and
 * "max_id" INT64 [batch, 1] (ReduceMax), so serving code meets BigInt on the way in and out.
 */
export function buildIdsSumModel(options: { length: number; model?: ModelOptions }) {
  const g = new GraphBuilder("ids_sum");
  g.input("ids", "INT64", ["batch", options.length]);
  g.initializer("axes", BigInt64Array.of(1n), [1]);
  g.node("Cast", ["ids"], ["ids_float"], { to: 1 /* FLOAT */ });
  g.node("ReduceSum", ["ids_float", "axes"], ["sum"], { keepdims: 1 });
  // ReduceMax takes axes as an attribute until opset 18.
  g.node("ReduceMax", ["ids"], ["max_id"], { axes: [1], keepdims: 1 });
  g.output("sum", "FP32", ["batch", 1]);
  g.output("max_id", "INT64", ["batch", 1]);
  return {
    bytes: g.toModel({ opset: 17, ...options.model }),
    predict: (rows: bigint[][]) => ({
      sum: rows.map((r) => r.reduce((a, b) => a + Number(b), 0)),
      // Math.max cannot compare bigint values, hence the explicit reduce.
      maxId: rows.map((r) => r.reduce((a, b) => (b > a ? b : a))),
    }),
  };
}

/**
 * A deliberately slow model: "x" FP32 [batch, size] goes through `depth` rounds of MatMul + Tanh
 * with one shared [size, size] matrix, so the file stays small while the work grows as depth·size².
 */
export function buildSlowModel(options: {
  size: number;
  depth: number;
  seed?: number;
  model?: ModelOptions;
}) {
  const { size, depth } = options;
  if (depth < 1) throw new Error("depth must be at least 1");
  const random = seededRandom(options.seed ?? 7);
  // Scaled so activations neither vanish nor saturate through many rounds.
  const weights = new Float32Array(size * size).map(
    () => ((random() * 2 - 1) * Math.sqrt(3)) / Math.sqrt(size),
  );
  const g = new GraphBuilder("slow");
  g.input("x", "FP32", ["batch", size]);
  g.initializer("w", weights, [size, size]);
  let current = "x";
  for (let i = 0; i < depth; i++) {
    const out = i === depth - 1 ? "y" : `h${i}`;
    g.node("MatMul", [current, "w"], [`m${i}`]);
    g.node("Tanh", [`m${i}`], [out]);
    current = out;
  }
  g.output("y", "FP32", ["batch", size]);
  return { bytes: g.toModel(options.model), inputName: "x", outputName: "y" };
}

/**
 * A model that loads but fails on every run: "x" FP32 [batch, 4] → Gather of column 7, which is out
 * of range. For testing warm-up failures, rollback and runtime error paths.
 */
export function buildFailingModel(options: { model?: ModelOptions } = {}) {
  const g = new GraphBuilder("failing");
  g.input("x", "FP32", ["batch", 4]);
  g.initializer("index", BigInt64Array.of(7n), [1]);
  g.node("Gather", ["x", "index"], ["y"], { axis: 1 });
  g.output("y", "FP32", ["batch", 1]);
  return { bytes: g.toModel(options.model), inputName: "x", outputName: "y" };
}

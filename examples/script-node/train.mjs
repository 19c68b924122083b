#!/usr/bin/env node
/**
 * An edgefleet script job in plain Node (no Python): a linear model (softmax regression, or least
 * squares for regression) fit by full-batch gradient descent on the rows in the vector convention
 * ($EDGEFLEET_VECTORS_PATH), exported with edgefleet's own ONNX builder. The graph takes the raw
 * `features` [batch, F]: NaN → training mean, then (x - mean) / std, then the linear layer; it
 * outputs `label` + `probabilities` (classification) or `prediction` (regression), as the hub
 * expects. Categorical codes are used as numbers here (a real script would one-hot them).
 *
 * Params ($EDGEFLEET_PARAMS): epochs (200), learningRate (0.5), l2 (1e-4).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through an edgefleet trainer worker`);
  return value;
};
const schema = JSON.parse(readFileSync(env("EDGEFLEET_SCHEMA_PATH"), "utf8"));
const split = JSON.parse(readFileSync(env("EDGEFLEET_SPLIT_PATH"), "utf8"));
const params = {
  epochs: 200,
  learningRate: 0.5,
  l2: 1e-4,
  ...JSON.parse(process.env.EDGEFLEET_PARAMS || "{}"),
};
const outputDir = env("EDGEFLEET_OUTPUT_DIR");
// The worker's own edgefleet install provides the ONNX builder.
const { GraphBuilder } = await import(
  pathToFileURL(join(env("EDGEFLEET_PACKAGE_ROOT"), "dist", "modules", "onnx", "builder.js")).href
);

// vectors.csv: one column per feature (the model's input order), then the target (class index or value).
const [header, ...lines] = readFileSync(env("EDGEFLEET_VECTORS_PATH"), "utf8").trim().split("\n");
const width = header.split(",").length - 1;
const rows = lines.map((line) => line.split(",").map(Number));
const x = rows.map((row) => row.slice(0, width));
const y = rows.map((row) => row[width]);
const classification = schema.task === "classification";
const outputs = classification ? schema.classes.length : 1;
console.log(
  `${schema.task} on ${schema.rows} rows, ${width} features, ${outputs} output(s); params ${JSON.stringify(params)}`,
);

// Standardisation learned on the training rows (float32, as the graph computes).
const f32 = Math.fround;
const mean = new Float32Array(width);
const std = new Float32Array(width);
for (let j = 0; j < width; j++) {
  const values = split.train.map((r) => x[r][j]).filter((v) => !Number.isNaN(v));
  const m = values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
  const s = Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(values.length, 1));
  mean[j] = f32(m);
  std[j] = f32(s > 1e-12 ? s : 1);
}
const scaled = (row) => row.map((v, j) => f32(f32((Number.isNaN(v) ? mean[j] : v) - mean[j]) / std[j]));
const design = x.map(scaled);

// Regression learns a standardised target; the scale is folded back into the exported weights.
const trainY = split.train.map((r) => y[r]);
const yMean = classification ? 0 : trainY.reduce((a, b) => a + b, 0) / trainY.length;
const yStd = classification
  ? 1
  : Math.sqrt(trainY.reduce((a, b) => a + (b - yMean) ** 2, 0) / trainY.length) || 1;

const W = Array.from({ length: width }, () => new Float64Array(outputs));
const b = new Float64Array(outputs);
const forward = (row) => {
  const z = Array.from(b);
  for (let j = 0; j < width; j++) for (let k = 0; k < outputs; k++) z[k] += row[j] * W[j][k];
  if (!classification) return z;
  const top = Math.max(...z);
  const e = z.map((v) => Math.exp(v - top));
  const sum = e.reduce((a, c) => a + c, 0);
  return e.map((v) => v / sum);
};
const lossOf = (indices) => {
  let loss = 0;
  for (const r of indices) {
    const p = forward(design[r]);
    loss += classification ? -Math.log(Math.max(p[y[r]], 1e-12)) : (p[0] - (y[r] - yMean) / yStd) ** 2;
  }
  return loss / Math.max(indices.length, 1);
};

for (let epoch = 1; epoch <= params.epochs; epoch++) {
  const gW = Array.from({ length: width }, () => new Float64Array(outputs));
  const gb = new Float64Array(outputs);
  for (const r of split.train) {
    const p = forward(design[r]);
    const error = classification ? p.map((v, k) => v - (k === y[r] ? 1 : 0)) : [p[0] - (y[r] - yMean) / yStd];
    for (let k = 0; k < outputs; k++) {
      gb[k] += error[k];
      for (let j = 0; j < width; j++) gW[j][k] += error[k] * design[r][j];
    }
  }
  const n = split.train.length;
  for (let k = 0; k < outputs; k++) {
    b[k] -= (params.learningRate * gb[k]) / n;
    for (let j = 0; j < width; j++) W[j][k] -= params.learningRate * (gW[j][k] / n + params.l2 * W[j][k]);
  }
  if (epoch % 10 === 0 || epoch === params.epochs) {
    const metrics = `train_loss=${lossOf(split.train).toFixed(6)}${split.validation.length ? ` validation_loss=${lossOf(split.validation).toFixed(6)}` : ""}`;
    console.log(`EDGEFLEET_METRIC ${metrics} step=${epoch}`);
    console.log(`EDGEFLEET_PROGRESS ${epoch}/${params.epochs}`);
  }
}

// Export: raw features → impute → standardise → linear (→ softmax, argmax).
const weights = new Float32Array(width * outputs);
const bias = new Float32Array(outputs);
for (let k = 0; k < outputs; k++) {
  bias[k] = classification ? b[k] : b[k] * yStd + yMean;
  for (let j = 0; j < width; j++) weights[j * outputs + k] = classification ? W[j][k] : W[j][k] * yStd;
}
const g = new GraphBuilder("script-node-linear")
  .input("features", "FP32", ["batch", width])
  .initializer("mean", mean, [width])
  .initializer("std", std, [width])
  .initializer("weights", weights, [width, outputs])
  .initializer("bias", bias, [outputs])
  .node("IsNaN", ["features"], ["missing"])
  .node("Where", ["missing", "mean", "features"], ["imputed"])
  .node("Sub", ["imputed", "mean"], ["centred"])
  .node("Div", ["centred", "std"], ["scaled"])
  .node("MatMul", ["scaled", "weights"], ["product"]);
if (classification) {
  g.node("Add", ["product", "bias"], ["logits"])
    .node("Softmax", ["logits"], ["probabilities"], { axis: 1 })
    .node("ArgMax", ["probabilities"], ["label"], { axis: 1, keepdims: 0 })
    .output("label", "INT64", ["batch"])
    .output("probabilities", "FP32", ["batch", outputs]);
} else {
  g.node("Add", ["product", "bias"], ["prediction"]).output("prediction", "FP32", ["batch", 1]);
}
writeFileSync(
  join(outputDir, "model.onnx"),
  g.toModel({ metadata: { "edgefleet.training.recipe": "script-node-linear" } }),
);

// The script's own test-split outputs, for the hub's parity check against the ONNX model.
const testOutputs = split.test.map((r) => {
  const p = forward(design[r]);
  return classification ? p : [p[0] * yStd + yMean];
});
writeFileSync(
  join(outputDir, "predictions.json"),
  JSON.stringify(
    classification ? { probabilities: testOutputs } : { prediction: testOutputs.map((p) => p[0]) },
  ),
);
if (classification) {
  const correct = split.test.filter(
    (r, i) => testOutputs[i].indexOf(Math.max(...testOutputs[i])) === y[r],
  ).length;
  console.log(
    `EDGEFLEET_METRIC test_accuracy=${(correct / Math.max(split.test.length, 1)).toFixed(6)} step=${params.epochs}`,
  );
}
console.log(`wrote ${join(outputDir, "model.onnx")}`);

/**
 * The demo model `edgefleet up` deploys: a multinomial logistic regression over the four iris
 * measurements (coefficients as scikit-learn fits them on the iris data set, rounded), exported to
 * ONNX with our own builder, so the demo gives sensible answers without shipping a binary.
 */
import { type MlpModel, mlpFromLayers } from "../modules/onnx/models.js";

export const DEMO_MODEL = "iris-classifier";
export const DEMO_MODULE = "demo-iris";
export const DEMO_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"] as const;
export const DEMO_LABELS = ["setosa", "versicolor", "virginica"];

// Rows are features, columns are classes (MatMul weights are [inputs, outputs]).
const WEIGHTS = [
  [-0.42, 0.53, -0.11],
  [0.97, -0.32, -0.64],
  [-2.4, -0.21, 2.61],
  [-1.03, -0.94, 1.97],
];
const INTERCEPTS = [9.85, 2.23, -12.08];

/** Builds the demo classifier: "features" FP32 [batch, 4] → "logits" FP32 [batch, 3]. */
export function buildDemoModel(): MlpModel {
  return mlpFromLayers(
    [
      {
        inputs: 4,
        outputs: 3,
        weights: Float32Array.from(WEIGHTS.flat()),
        bias: Float32Array.from(INTERCEPTS),
      },
    ],
    {
      graphName: "iris_logistic_regression",
      model: { producerName: "edgefleet", metadata: { "org.edgefleet.labels": DEMO_LABELS.join(",") } },
    },
  );
}

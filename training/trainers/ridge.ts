/**
 * Ridge regression in closed form: solve (XᵀX + αI) w = Xᵀy with an unpenalised intercept, by
 * Cholesky. Exact and deterministic; the design width is small (numerics plus one-hot blocks).
 */
import { z } from "zod";
import type { GraphBuilder } from "../../modules/onnx/builder.js";
import { TrainingError } from "../errors.js";
import { denseNodes, meanSquaredError, OUTPUTS, regressionOutput } from "./heads.js";
import type { FitOptions, TrainedModel, TrainingData } from "./types.js";

export const RidgeParamsSchema = z
  .object({
    /** L2 penalty (scikit-learn's `alpha`: on the sum of squared errors, not the mean). */
    alpha: z.number().min(0).default(1),
  })
  .strict();
export type RidgeParams = z.infer<typeof RidgeParamsSchema>;

/** Solves A x = b for a symmetric positive definite A (n×n row-major), in place of nothing. */
export function choleskySolve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        // A tiny jitter keeps a singular system (e.g. alpha 0 and a constant column) solvable.
        l[i * n + i] = Math.sqrt(Math.max(sum, 1e-10));
      } else l[i * n + j] = sum / l[j * n + j]!;
    }
  }
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * n + k]! * z[k]!;
    z[i] = sum / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = z[i]!;
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i]! * x[k]!;
    x[i] = sum / l[i * n + i]!;
  }
  return x;
}

/** Fits ridge regression; regression only. */
export function fitRidge(data: TrainingData, params: RidgeParams, options: FitOptions): TrainedModel {
  if (data.classes > 0) throw new TrainingError("bad_params", "ridge is a regression recipe");
  const { width } = data;
  const { x, rows, y } = data.train;
  const n = width + 1;
  // Augmented design [x, 1]; the intercept (last) is not penalised.
  const a = new Float64Array(n * n);
  const b = new Float64Array(n);
  for (let i = 0; i < rows; i++) {
    for (let p = 0; p < n; p++) {
      const xp = p < width ? x[i * width + p]! : 1;
      b[p]! += xp * y[i]!;
      for (let q = 0; q <= p; q++) a[p * n + q]! += xp * (q < width ? x[i * width + q]! : 1);
    }
  }
  for (let p = 0; p < n; p++) for (let q = 0; q < p; q++) a[q * n + p] = a[p * n + q]!;
  for (let p = 0; p < width; p++) a[p * n + p]! += params.alpha;
  const w = Float32Array.from(choleskySolve(a, b, n));
  const predict = (xs: Float32Array, count: number) => {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      let s = w[width]!;
      for (let j = 0; j < width; j++) s += xs[i * width + j]! * w[j]!;
      out[i] = s;
    }
    return out;
  };
  const metrics: Record<string, number> = { trainLoss: meanSquaredError(predict(x, rows), y) };
  if (data.validation.rows > 0) {
    metrics.validationLoss = meanSquaredError(
      predict(data.validation.x, data.validation.rows),
      data.validation.y,
    );
  }
  options.onProgress?.({ recipe: "ridge", iteration: 1, of: 1, metrics });
  return {
    recipe: "ridge",
    params: { ...params },
    iterations: 1,
    opsets: [],
    predict,
    exportHead: (g: GraphBuilder, design: string) => {
      const out = denseNodes(g, design, "ridge", w.slice(0, width), w.slice(width), width);
      g.node("Identity", [out], [OUTPUTS.prediction]);
      regressionOutput(g);
    },
  };
}

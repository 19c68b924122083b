/** Evaluation metrics, computed the way scikit-learn defines them. */

export interface ClassificationMetrics {
  accuracy: number;
  /** Unweighted mean of per-class F1 over the classes present in truth or predictions. */
  macroF1: number;
  /** Binary: AUC of class 1's probability. More classes: macro one-vs-rest. Null when undefined. */
  rocAuc: number | null;
  logLoss: number;
}

export interface RegressionMetrics {
  rmse: number;
  mae: number;
  r2: number;
}

export type Metrics = ClassificationMetrics | RegressionMetrics;

/** Index of the largest value in `row[offset .. offset+size)` (first on ties). */
export function argmax(values: ArrayLike<number>, offset: number, size: number): number {
  let best = 0;
  for (let k = 1; k < size; k++) if (values[offset + k]! > values[offset + best]!) best = k;
  return best;
}

/** Area under the ROC curve of `scores` for `positives` (Mann–Whitney, ties counted half). */
export function rocAuc(scores: ArrayLike<number>, positives: ArrayLike<boolean>): number | null {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positiveCount = 0;
  let rankSum = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && scores[order[end + 1]!] === scores[order[start]!]) end++;
    const rank = (start + end) / 2 + 1;
    for (let i = start; i <= end; i++) {
      if (positives[order[i]!]) {
        positiveCount++;
        rankSum += rank;
      }
    }
    start = end + 1;
  }
  const negativeCount = order.length - positiveCount;
  if (positiveCount === 0 || negativeCount === 0) return null;
  return (rankSum - (positiveCount * (positiveCount + 1)) / 2) / (positiveCount * negativeCount);
}

/** Metrics of probabilities [rows × classes] against class indices. */
export function classificationMetrics(
  probabilities: ArrayLike<number>,
  y: ArrayLike<number>,
  classes: number,
): ClassificationMetrics {
  const n = y.length;
  const predicted = Array.from({ length: n }, (_, i) => argmax(probabilities, i * classes, classes));
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    if (predicted[i] === y[i]) correct++;
    loss -= Math.log(Math.max(probabilities[i * classes + y[i]!]!, 1e-15));
  }
  const f1s: number[] = [];
  const aucs: number[] = [];
  for (let k = 0; k < classes; k++) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < n; i++) {
      if (predicted[i] === k && y[i] === k) tp++;
      else if (predicted[i] === k) fp++;
      else if (y[i] === k) fn++;
    }
    if (tp + fp + fn > 0) f1s.push((2 * tp) / (2 * tp + fp + fn));
    if (classes > 2) {
      const auc = rocAuc(
        Array.from({ length: n }, (_, i) => probabilities[i * classes + k]!),
        Array.from({ length: n }, (_, i) => y[i] === k),
      );
      if (auc !== null) aucs.push(auc);
    }
  }
  const auc =
    classes === 2
      ? rocAuc(
          Array.from({ length: n }, (_, i) => probabilities[i * 2 + 1]!),
          Array.from({ length: n }, (_, i) => y[i] === 1),
        )
      : aucs.length > 0
        ? aucs.reduce((a, b) => a + b, 0) / aucs.length
        : null;
  return {
    accuracy: n > 0 ? correct / n : Number.NaN,
    macroF1: f1s.length > 0 ? f1s.reduce((a, b) => a + b, 0) / f1s.length : Number.NaN,
    rocAuc: auc,
    logLoss: n > 0 ? loss / n : Number.NaN,
  };
}

/** RMSE, MAE and R² of predictions against targets. */
export function regressionMetrics(predictions: ArrayLike<number>, y: ArrayLike<number>): RegressionMetrics {
  const n = y.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]!;
  mean /= n;
  let se = 0;
  let ae = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const e = predictions[i]! - y[i]!;
    se += e * e;
    ae += Math.abs(e);
    total += (y[i]! - mean) ** 2;
  }
  return { rmse: Math.sqrt(se / n), mae: ae / n, r2: total > 0 ? 1 - se / total : Number.NaN };
}

/**
 * The manifest's monitoring section for a model trained by edgefleet's own training library, built
 * from the model version's baseline profile: the same bins and training counts, each column bound
 * to the tensor the model reads it from or writes it to.
 */
import type { BaselineProfile, FeatureBaseline, NumericHistogram } from "../../drift-summary/baseline.js";
import {
  baselineIdOf,
  type MonitoredColumn,
  type MonitoredSource,
  type Monitoring,
  MonitoringSchema,
} from "../../drift-summary/monitoring.js";

/**
 * Tensor names of models exported by training (features/inputs.ts VECTOR_INPUT, trainers/heads.ts
 * OUTPUTS); repeated here so the hub's monitoring code does not depend on the training library (a test checks
 * they agree).
 */
export const TRAINED_MODEL_TENSORS = {
  vectorInput: "features",
  label: "label",
  probabilities: "probabilities",
  prediction: "prediction",
} as const;

/** What monitoringFromBaseline cannot read from the baseline. */
export interface MonitoringOptions {
  /** Raw rows may leave the device when the hub asks (default: not allowed). */
  samples?: { allowed: boolean; maxPerWindow?: number };
  /** Hold back windows with fewer rows (default 20). */
  minRows?: number;
}

/** The values a boolean column takes, in code order (0 = false, 1 = true). */
export const BOOLEAN_VOCABULARY = ["false", "true"];

/**
 * Builds the monitoring section for a model trained by training (vector or columns input) from
 * its baseline profile: the same bins and training counts, each column bound to the tensor the model
 * reads it from or writes it to. Booleans become two-entry categoricals: a 0/1 histogram has one bin
 * and would hide the split.
 */
export function monitoringFromBaseline(
  baseline: BaselineProfile,
  options: MonitoringOptions = {},
): Monitoring {
  const columns = baseline.features.map((feature, index) =>
    featureColumn(
      feature,
      baseline.inputMode === "vector"
        ? { input: TRAINED_MODEL_TENSORS.vectorInput, index }
        : { input: feature.name },
    ),
  );
  const outputs: MonitoredColumn[] = [];
  if (baseline.output.kind === "probabilities") {
    const { classes, probabilities, predicted } = baseline.output;
    for (const [k, label] of classes.entries()) {
      const source = { output: TRAINED_MODEL_TENSORS.probabilities, index: k };
      outputs.push(numericColumn(`p(${label})`, source, probabilities[k]!));
    }
    const total = predicted.reduce((a, b) => a + b, 0);
    outputs.push({
      name: "predicted",
      kind: "categorical",
      // The label output is the class index (ArgMax of the probabilities).
      source: { output: TRAINED_MODEL_TENSORS.label },
      vocabulary: [...classes],
      reference: { counts: [...predicted], unseen: 0, missing: 0, count: total },
    });
  } else {
    outputs.push(
      numericColumn(
        "prediction",
        { output: TRAINED_MODEL_TENSORS.prediction, index: 0 },
        baseline.output.prediction,
      ),
    );
  }
  const body = { columns, outputs };
  return MonitoringSchema.parse({
    baselineId: baselineIdOf(body),
    ...body,
    ...(options.samples ? { samples: options.samples } : {}),
    ...(options.minRows !== undefined ? { minRows: options.minRows } : {}),
  });
}

function featureColumn(feature: FeatureBaseline, source: MonitoredSource): MonitoredColumn {
  if (feature.kind === "categorical") {
    return {
      name: feature.name,
      kind: "categorical",
      source,
      vocabulary: feature.vocabulary.map((v) => v.value),
      reference: {
        counts: feature.vocabulary.map((v) => v.count),
        unseen: feature.unseen,
        missing: feature.missing,
        count: feature.count,
      },
    };
  }
  if (feature.kind === "boolean") return booleanColumn(feature.name, source, feature);
  return numericColumn(feature.name, source, feature);
}

function numericColumn(name: string, source: MonitoredSource, h: NumericHistogram): MonitoredColumn {
  return {
    name,
    kind: "numeric",
    source,
    edges: [...h.edges],
    reference: {
      counts: [...h.counts],
      means: [...h.means],
      missing: h.missing,
      below: h.below,
      above: h.above,
      count: h.count,
      mean: h.mean,
      std: h.std,
    },
  };
}

/** A 0/1 histogram as counts of false and true: its bins' means are the share of ones. */
function booleanColumn(name: string, source: MonitoredSource, h: NumericHistogram): MonitoredColumn {
  let ones = 0;
  h.counts.forEach((c, b) => {
    ones += Math.round((h.means[b] ?? 0) * c);
  });
  const present = h.count - h.missing;
  return {
    name,
    kind: "categorical",
    source,
    vocabulary: [...BOOLEAN_VOCABULARY],
    reference: { counts: [present - ones, ones], unseen: 0, missing: h.missing, count: h.count },
  };
}

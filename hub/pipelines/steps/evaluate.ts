/**
 * evaluate: the gate on the trained version's test metrics, as the hub measured them on the
 * exported ONNX model (at least `min`, at most `max`). A metric the version does not have fails
 * the gate rather than passing it unseen.
 */
import { modelStillThere, trainedModel } from "./model-ref.js";
import { type StepDefinition, StepFailure } from "./types.js";

export const evaluateStep: StepDefinition = {
  async inputs({ pipeline, outputs }) {
    const { min, max } = pipeline.spec.steps.evaluate!;
    return { model: trainedModel(outputs), min, max };
  },

  async run({ deps, outputs }, inputs) {
    const model = trainedModel(outputs);
    const version = await deps.repos.models.getVersion(model.name, model.version);
    if (!version) throw new StepFailure(`model ${model.name} version ${model.version} is gone`);
    const test = ((version.metrics as { test?: Record<string, unknown> } | null)?.test ?? {}) as Record<
      string,
      unknown
    >;
    const problems: string[] = [];
    const checks: { metric: string; value: number; bound: "min" | "max"; limit: number }[] = [];
    for (const [bound, limits] of [
      ["min", inputs.min],
      ["max", inputs.max],
    ] as const) {
      for (const [metric, limit] of Object.entries(limits as Record<string, number>)) {
        const value = test[metric];
        if (typeof value !== "number") {
          problems.push(
            `test metric ${metric} is not measured for this model (it has ${Object.keys(test).join(", ")})`,
          );
          continue;
        }
        checks.push({ metric, value, bound, limit });
        if (bound === "min" ? value < limit : value > limit)
          problems.push(
            `test ${metric} ${value} is ${bound === "min" ? "below the minimum" : "above the maximum"} ${limit}`,
          );
      }
    }
    if (problems.length > 0) throw new StepFailure(problems.join("; "));
    return { model, metrics: test, checks };
  },

  stillThere: (deps, output) => modelStillThere(deps, output.model as never),
};

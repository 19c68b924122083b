/**
 * quantize: the trained version's int8 file, measured against float on its test split
 * (hub/quantization); fails when int8 loses more than `maxLoss` of the threshold metric.
 */
import { quantizeModelVersion } from "../../quantization/service.js";
import { modelStillThere, trainedModel } from "./model-ref.js";
import { type StepDefinition, StepFailure } from "./types.js";

export const quantizeStep: StepDefinition = {
  async inputs({ pipeline, outputs }) {
    const { mode, ops, maxLoss } = pipeline.spec.steps.quantize!;
    return { model: trainedModel(outputs), mode, ops: ops ?? null, maxLoss };
  },

  async run({ deps, pipeline, outputs }, inputs) {
    const model = trainedModel(outputs);
    const { ops, mode } = pipeline.spec.steps.quantize!;
    const updated = await quantizeModelVersion(deps, {
      name: model.name,
      version: model.version,
      by: `pipeline:${pipeline.name}`,
      mode,
      ...(ops ? { ops } : {}),
    });
    const int8 = updated.int8!;
    const maxLoss = inputs.maxLoss as number;
    if (int8.relativeLoss > maxLoss) {
      throw new StepFailure(
        `int8 loses ${(int8.relativeLoss * 100).toFixed(2)} % of ${int8.metric} (float ${int8.float}, int8 ${int8.int8}); the limit is ${(maxLoss * 100).toFixed(2)} %`,
      );
    }
    return {
      model,
      int8Sha256: int8.sha256,
      size: int8.size,
      floatSize: int8.floatSize,
      metric: int8.metric,
      float: int8.float,
      int8: int8.int8,
      relativeLoss: int8.relativeLoss,
    };
  },

  async stillThere(deps, output) {
    const model = output.model as { name: string; version: number } | undefined;
    if (!(await modelStillThere(deps, model as never))) return false;
    const version = await deps.repos.models.getVersion(model!.name, model!.version);
    return version?.int8?.sha256 === output.int8Sha256;
  },
};

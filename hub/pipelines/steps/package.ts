/**
 * package: a module version from the trained model (hub/retraining/package.ts, as
 * `models package` does), with the int8 variant when asked; the version is the module's next patch.
 */
import { packageTrainedModel } from "../../retraining/package.js";
import { trainedModel } from "./model-ref.js";
import type { StepDefinition } from "./types.js";

export const packageStep: StepDefinition = {
  async inputs({ pipeline, outputs }) {
    const { module, int8, samples, minRows } = pipeline.spec.steps.package!;
    return {
      model: trainedModel(outputs),
      module: module ?? pipeline.name,
      // The int8 file itself, so a new quantization is new input.
      int8: int8 ? ((outputs.quantize?.int8Sha256 as string | undefined) ?? null) : null,
      samples: samples ?? null,
      minRows: minRows ?? null,
    };
  },

  async run({ deps, pipeline, outputs }, inputs) {
    const model = trainedModel(outputs);
    const { samples, minRows, int8 } = pipeline.spec.steps.package!;
    const module = await packageTrainedModel(deps, model.name, model.version, {
      module: inputs.module as string,
      ...(samples ? { samples } : {}),
      ...(minRows !== undefined ? { minRows } : {}),
      ...(int8 ? { int8: true } : {}),
    });
    return { module: module.name, version: module.version, sha256: module.tarballSha256, model };
  },

  async stillThere(deps, output) {
    const module = await deps.repos.modules.get(output.module as string, output.version as string);
    return module?.tarballSha256 === output.sha256;
  },
};

/** The trained model version a train step produced, as the steps after it name it. */
import type { StepDeps, StepOutput } from "./types.js";
import { StepFailure } from "./types.js";

export interface ModelRef {
  name: string;
  version: number;
  sha256: string;
}

/** The train step's model (its name, number and ONNX sha256). */
export function trainedModel(outputs: Partial<Record<string, StepOutput>>): ModelRef {
  const model = outputs.train?.model as ModelRef | undefined;
  if (!model) throw new StepFailure("the train step produced no model");
  return model;
}

/** Whether the registry still holds that version with the same bytes. */
export async function modelStillThere(deps: StepDeps, model: ModelRef | undefined): Promise<boolean> {
  if (!model) return false;
  const version = await deps.repos.models.getVersion(model.name, model.version);
  return version?.sha256 === model.sha256;
}

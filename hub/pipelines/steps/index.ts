/** The step definitions by kind. */
import type { StepKind } from "../../db/schema/pipelines.js";
import { datasetStep } from "./dataset.js";
import { deployStep } from "./deploy.js";
import { evaluateStep } from "./evaluate.js";
import { packageStep } from "./package.js";
import { quantizeStep } from "./quantize.js";
import { trainStep } from "./train.js";
import type { StepDefinition } from "./types.js";

export * from "./types.js";

export const STEPS: Record<StepKind, StepDefinition> = {
  dataset: datasetStep,
  train: trainStep,
  evaluate: evaluateStep,
  quantize: quantizeStep,
  package: packageStep,
  deploy: deployStep,
};

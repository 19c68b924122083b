/** Assembles the shipped ONNX model: raw-feature inputs → learned preprocessing → the trainer's head. */
import { GraphBuilder } from "../modules/onnx/builder.js";
import type { FeatureEncoder } from "./features/encoder.js";
import { addPreprocessing, type InputMode } from "./features/inputs.js";
import { ML_OPSET } from "./trainers/tree-export.js";
import type { TrainedModel } from "./trainers/types.js";

export interface ExportOptions {
  inputMode: InputMode;
  /** Class names in `probabilities` order; empty for regression. */
  classes: string[];
  /** Extra `metadata_props` (keys prefixed `edgefleet.`). */
  metadata?: Record<string, string>;
}

/** Serialises the model; the class names, features and input convention travel in metadata_props. */
export function exportOnnx(encoder: FeatureEncoder, model: TrainedModel, options: ExportOptions): Uint8Array {
  const g = new GraphBuilder(`edgefleet-${model.recipe}`);
  const design = addPreprocessing(g, encoder, options.inputMode);
  model.exportHead(g, design);
  const needsMl = options.inputMode === "columns" && encoder.features.some((f) => f.kind === "categorical");
  const opsets = [...model.opsets];
  if (needsMl && !opsets.some((o) => o.domain === ML_OPSET.domain)) opsets.push(ML_OPSET);
  return g.toModel({
    extraOpsets: opsets,
    producerName: "edgefleet-trainer",
    docString: `edgefleet built-in ${model.recipe} model; input convention "${options.inputMode}"`,
    metadata: {
      "edgefleet.training.recipe": model.recipe,
      "edgefleet.training.input_mode": options.inputMode,
      "edgefleet.training.features": JSON.stringify(encoder.features),
      ...(options.classes.length > 0
        ? { "edgefleet.training.classes": JSON.stringify(options.classes) }
        : {}),
      ...options.metadata,
    },
  });
}

/**
 * Raising a graph's default-domain opset to the 11 that DynamicQuantizeLinear needs. Most
 * operators mean the same from opset 7 to 11; the ones whose signature changed are rewritten
 * here (Clip 11 and Slice 10 take their bounds as inputs instead of attributes) or, where a
 * faithful rewrite is more than moving attributes, refused with a clear error.
 */
import type { onnx as OnnxProto } from "onnx-proto";
import { tensorProto } from "../builder.js";
import { int64ToNumber } from "../proto.js";
import { QuantizationError } from "./errors.js";

export const QUANTIZED_OPSET = 11;

/** Operators whose meaning changed below opset 11 in ways this rewrite does not translate. */
const UNTRANSLATED = new Set(["Upsample", "Resize", "TopK", "Pad", "Scan", "Loop", "If"]);

/** The default-domain opset entry ("" or "ai.onnx"). */
export function defaultOpsetEntry(model: OnnxProto.IModelProto): OnnxProto.IOperatorSetIdProto | undefined {
  return model.opsetImport?.find((o) => !o.domain || o.domain === "ai.onnx");
}

function attr(node: OnnxProto.INodeProto, name: string): OnnxProto.IAttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}

/**
 * Raises the opset in place to at least QUANTIZED_OPSET. `unique` makes a fresh value name;
 * `addInitializer` stores a constant.
 */
export function raiseOpset(
  model: OnnxProto.IModelProto,
  unique: (base: string) => string,
  addInitializer: (tensor: OnnxProto.ITensorProto) => void,
): { from: number; to: number } {
  const entry = defaultOpsetEntry(model);
  const from = entry ? int64ToNumber(entry.version as never) : 1;
  if (from >= QUANTIZED_OPSET) return { from, to: from };
  const nodes = model.graph?.node ?? [];
  const untranslated = [
    ...new Set(nodes.filter((n) => !n.domain && UNTRANSLATED.has(n.opType ?? "")).map((n) => n.opType)),
  ];
  if (untranslated.length > 0) {
    throw new QuantizationError(
      "unsupported_model",
      `the model is opset ${from}; quantizing needs opset ${QUANTIZED_OPSET}, and ${untranslated.join(", ")} changed meaning in between (re-export the model at opset ${QUANTIZED_OPSET} or newer)`,
    );
  }
  for (const node of nodes) {
    if (node.domain) continue;
    if (node.opType === "Clip") {
      const min = attr(node, "min");
      const max = attr(node, "max");
      const inputs = [node.input![0]!, "", ""];
      if (min) {
        inputs[1] = unique(`${node.input![0]}/clip_min`);
        addInitializer(tensorProto(inputs[1], Float32Array.of(min.f ?? 0), []));
      }
      if (max) {
        inputs[2] = unique(`${node.input![0]}/clip_max`);
        addInitializer(tensorProto(inputs[2], Float32Array.of(max.f ?? 0), []));
      }
      while (inputs.length > 1 && inputs[inputs.length - 1] === "") inputs.pop();
      node.input = inputs;
      node.attribute = (node.attribute ?? []).filter((a) => a.name !== "min" && a.name !== "max");
    } else if (node.opType === "Slice" && from < 10) {
      const ints = (name: string) =>
        (attr(node, name)?.ints ?? []).map((v) => BigInt(int64ToNumber(v as never)));
      const parts = ["starts", "ends", "axes"].map((name) => ({ name, values: ints(name) }));
      const inputs = [node.input![0]!];
      for (const part of parts) {
        if (part.name === "axes" && part.values.length === 0) break;
        const name = unique(`${node.input![0]}/slice_${part.name}`);
        addInitializer(tensorProto(name, BigInt64Array.from(part.values), [part.values.length]));
        inputs.push(name);
      }
      node.input = inputs;
      node.attribute = [];
    }
  }
  if (entry) entry.version = QUANTIZED_OPSET;
  else model.opsetImport = [...(model.opsetImport ?? []), { domain: "", version: QUANTIZED_OPSET }];
  return { from, to: QUANTIZED_OPSET };
}

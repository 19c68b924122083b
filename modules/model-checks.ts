/**
 * Cross-checks a manifest against the model it ships with, so a module that cannot work (an input
 * the model does not have, labels that do not fit the classes) is refused when packing, not on a device.
 */
import type { Manifest, TensorSpec } from "./manifest.js";
import type { OnnxInfo } from "./onnx/inspect.js";

function compareTensors(role: "input" | "output", declared: TensorSpec[], actual: TensorSpec[]): string[] {
  const issues: string[] = [];
  const byName = new Map(actual.map((t) => [t.name, t]));
  for (const spec of declared) {
    const real = byName.get(spec.name);
    if (!real) {
      issues.push(
        `${role} "${spec.name}" is not a model ${role} (model has: ${[...byName.keys()].join(", ")})`,
      );
      continue;
    }
    if (real.datatype !== spec.datatype) {
      issues.push(
        `${role} "${spec.name}" is ${real.datatype} in the model, ${spec.datatype} in the manifest`,
      );
    }
    // A model without shape information (rank 0 here) accepts whatever the manifest narrows it to.
    if (real.shape.length > 0 && real.shape.length !== spec.shape.length) {
      issues.push(
        `${role} "${spec.name}" has rank ${real.shape.length} in the model, ${spec.shape.length} in the manifest`,
      );
    } else if (real.shape.some((d, i) => d >= 0 && (spec.shape[i] ?? -1) >= 0 && spec.shape[i] !== d)) {
      issues.push(
        `${role} "${spec.name}" has shape [${real.shape}] in the model, [${spec.shape}] in the manifest`,
      );
    }
  }
  if (role === "input") {
    const declaredNames = new Set(declared.map((t) => t.name));
    for (const name of byName.keys()) {
      if (!declaredNames.has(name)) issues.push(`model input "${name}" is missing from the manifest`);
    }
  }
  return issues;
}

/** Lists every way `manifest` disagrees with the model described by `info` (empty when consistent). */
export function checkManifestAgainstModel(manifest: Manifest, info: OnnxInfo): string[] {
  const issues = [
    ...compareTensors("input", manifest.inputs, info.inputs),
    ...compareTensors("output", manifest.outputs, info.outputs),
  ];
  const pre = manifest.preprocessing;
  if (pre.kind === "tabular") {
    const input = manifest.inputs.find((t) => t.name === pre.input);
    if (input && input.datatype !== "FP32") issues.push(`tabular input "${pre.input}" must be FP32`);
    const width = input?.shape[input.shape.length - 1];
    if (input && (input.shape.length !== 2 || (width !== -1 && width !== pre.features.length))) {
      issues.push(
        `tabular input "${pre.input}" must have shape [batch, ${pre.features.length}], not [${input.shape}]`,
      );
    }
  }
  const post = manifest.postprocessing;
  if (post.kind !== "raw" && post.labels) {
    const output = manifest.outputs.find((t) => t.name === post.output);
    const classes = output?.shape[output.shape.length - 1];
    if (post.kind !== "threshold" && classes !== undefined && classes > 0 && classes !== post.labels.length) {
      issues.push(
        `postprocessing has ${post.labels.length} labels but output "${post.output}" has ${classes} classes`,
      );
    }
  }
  return issues;
}

/**
 * Checks that an ONNX session has exactly the inputs and outputs its manifest declares, so a
 * module whose manifest lies about its model is refused at load time instead of failing on
 * every request.
 */
import type { InferenceSession } from "onnxruntime-node";
import type { TensorSpec } from "../../modules/manifest.js";
import { datatypeFromOrt } from "./datatypes.js";

/** Problems between declared tensors and a session's metadata; empty when they agree. */
export function signatureProblems(
  kind: "input" | "output",
  declared: readonly TensorSpec[],
  actual: readonly InferenceSession.ValueMetadata[],
): string[] {
  const problems: string[] = [];
  const byName = new Map(actual.map((meta) => [meta.name, meta]));
  for (const spec of declared) {
    const meta = byName.get(spec.name);
    if (meta === undefined) {
      problems.push(`${kind} "${spec.name}" is declared in the manifest but the model has no such ${kind}`);
      continue;
    }
    if (!meta.isTensor) {
      problems.push(`${kind} "${spec.name}" is not a tensor in the model`);
      continue;
    }
    const datatype = datatypeFromOrt(meta.type);
    if (datatype !== spec.datatype) {
      problems.push(
        `${kind} "${spec.name}" is ${spec.datatype} in the manifest but ${datatype ?? meta.type} in the model`,
      );
    }
    // An empty shape means the model does not declare one; nothing to compare then.
    if (meta.shape.length > 0 && !shapesAgree(spec.shape, meta.shape)) {
      problems.push(
        `${kind} "${spec.name}" has shape [${spec.shape}] in the manifest but [${meta.shape.map(dimText)}] in the model`,
      );
    }
  }
  const declaredNames = new Set(declared.map((spec) => spec.name));
  for (const meta of actual) {
    if (!declaredNames.has(meta.name))
      problems.push(`model ${kind} "${meta.name}" is missing from the manifest`);
  }
  return problems;
}

/** Same rank, and fixed dimensions equal wherever both sides fix them. */
function shapesAgree(declared: readonly number[], actual: readonly (number | string)[]): boolean {
  if (declared.length !== actual.length) return false;
  return declared.every((dim, i) => {
    const other = actual[i];
    return dim < 0 || typeof other !== "number" || other < 0 || other === dim;
  });
}

function dimText(dim: number | string): string {
  return typeof dim === "number" ? String(dim) : dim;
}

/**
 * Reads what the registry and the packer need from an ONNX file without onnxruntime: versions,
 * producer, metadata_props (which the JS runtime API does not expose, protocols.md §5.2) and the
 * graph's inputs and outputs as OIP tensor specs.
 */

import type { onnx as OnnxProto } from "onnx-proto";
import { DomainError } from "../../lib/errors.js";
import type { TensorSpec } from "../manifest.js";
import { datatypeOfElementType, onnxElementTypeName } from "./datatypes.js";
import { int64ToNumber, onnx } from "./proto.js";

export interface OnnxInfo {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  docString: string;
  modelVersion: number;
  metadata: Record<string, string>;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Each input's and output's symbolic dimension names (dim_param), null where a dimension has none. */
  symbols: { inputs: Record<string, (string | null)[]>; outputs: Record<string, (string | null)[]> };
}

function symbolsOf(values: readonly OnnxProto.IValueInfoProto[]): Record<string, (string | null)[]> {
  return Object.fromEntries(
    values.map((v) => [v.name ?? "", (v.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimParam || null)]),
  );
}

/** The bytes are not a model we can serve; the message says why. */
export class InvalidModelError extends DomainError {
  override name = "InvalidModelError";
  constructor(message: string) {
    super("invalid_model", message);
  }
}

function tensorSpec(value: OnnxProto.IValueInfoProto, role: "input" | "output"): TensorSpec {
  const name = value.name ?? "";
  if (!name) throw new InvalidModelError(`a graph ${role} has no name`);
  const tensor = value.type?.tensorType;
  if (!tensor) {
    throw new InvalidModelError(
      `${role} "${name}" is not a tensor (sequences, maps and optionals are not supported)`,
    );
  }
  const elemType = tensor.elemType ?? 0;
  const datatype = datatypeOfElementType(elemType);
  if (!datatype) {
    throw new InvalidModelError(
      `${role} "${name}" has unsupported element type ${onnxElementTypeName(elemType)}`,
    );
  }
  // Symbolic ("batch") and unknown dimensions both become -1, the OIP spelling of "variable".
  const shape = (tensor.shape?.dim ?? []).map((d) => {
    const size = d.dimValue === null || d.dimValue === undefined ? -1 : int64ToNumber(d.dimValue);
    return d.dimParam || size <= 0 ? -1 : size;
  });
  return { name, datatype, shape };
}

function decode(bytes: Uint8Array): OnnxProto.ModelProto {
  if (bytes.byteLength === 0) throw new InvalidModelError("the model file is empty");
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new InvalidModelError(`not an ONNX model: protobuf decoding failed (${(error as Error).message})`);
  }
}

/** Parses an ONNX ModelProto; throws InvalidModelError for anything we could not load and serve. */
export function inspectOnnx(bytes: Uint8Array): OnnxInfo {
  const model = decode(bytes);
  const irVersion = int64ToNumber(model.irVersion);
  if (irVersion <= 0) throw new InvalidModelError("not an ONNX model: ir_version is missing");
  if (model.opsetImport.length === 0) throw new InvalidModelError("not an ONNX model: opset_import is empty");
  const graph = model.graph;
  if (!graph) throw new InvalidModelError("the model has no graph");
  // Before IR 4 initializers were also listed as inputs; they are weights, not things callers feed.
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputValues = (graph.input ?? []).filter((v) => !initializers.has(v.name ?? ""));
  const inputs = inputValues.map((v) => tensorSpec(v, "input"));
  const outputs = (graph.output ?? []).map((v) => tensorSpec(v, "output"));
  if (inputs.length === 0) throw new InvalidModelError("the graph has no inputs");
  if (outputs.length === 0) throw new InvalidModelError("the graph has no outputs");
  const metadata: Record<string, string> = {};
  for (const entry of model.metadataProps) metadata[entry.key ?? ""] = entry.value ?? "";
  return {
    irVersion,
    opsets: model.opsetImport.map((o) => ({
      domain: o.domain === "ai.onnx" ? "" : (o.domain ?? ""),
      version: int64ToNumber(o.version),
    })),
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    docString: model.docString,
    modelVersion: int64ToNumber(model.modelVersion),
    metadata,
    inputs,
    outputs,
    symbols: { inputs: symbolsOf(inputValues), outputs: symbolsOf(graph.output ?? []) },
  };
}

/** The default-domain (ai.onnx) opset of a model, or undefined when it imports none. */
export function defaultOpset(info: OnnxInfo): number | undefined {
  return info.opsets.find((o) => o.domain === "")?.version;
}

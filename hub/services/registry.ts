/**
 * Model registry: an uploaded ONNX file becomes a model version only after it parses as a
 * ModelProto and onnxruntime builds a session from it, so a device never receives a model the hub
 * could not load itself.
 */
import * as ort from "onnxruntime-node";
import { sha256Hex } from "../../lib/files.js";
import type { Logger } from "../../lib/log.js";
import { InvalidModelError, inspectOnnx, type OnnxInfo } from "../../modules/onnx/inspect.js";
import type { BlobStore } from "../blobs/blob-store.js";
import type { Repositories } from "../repos/index.js";
import type { RegisterVersionInput } from "../repos/models.js";

export interface RegisterModelInput
  extends Pick<RegisterVersionInput, "lineage" | "metrics" | "baseline" | "training" | "aliases"> {
  name: string;
  bytes: Uint8Array;
  description?: string;
}

/** A stored ONNX file that was already inspected (`info`) and run, ready to register. */
export interface CheckedModel extends Omit<RegisterModelInput, "bytes"> {
  /** Its blob (= the sha256 of its bytes). */
  sha256: string;
  size: number;
  info: OnnxInfo;
}

/**
 * The registration of a checked model, for `repos.models.registerVersion` or (a training run's
 * model, checked by the completion check) `repos.runs.succeedWithModel`.
 */
export function registrationOf(model: CheckedModel): RegisterVersionInput {
  const { info } = model;
  return {
    name: model.name,
    description: model.description,
    sha256: model.sha256,
    size: model.size,
    inputs: info.inputs,
    outputs: info.outputs,
    irVersion: info.irVersion,
    opsets: Object.fromEntries(info.opsets.map((o) => [o.domain, o.version])),
    producer: [info.producerName, info.producerVersion].filter(Boolean).join(" ") || undefined,
    metadata: info.metadata,
    ...(model.lineage ? { lineage: model.lineage } : {}),
    ...(model.metrics ? { metrics: model.metrics } : {}),
    ...(model.baseline ? { baseline: model.baseline } : {}),
    ...(model.training ? { training: model.training } : {}),
    ...(model.aliases ? { aliases: model.aliases } : {}),
  };
}

/** What registering a model version uses: the blob store for the file, the models repository, a log. */
export interface RegistryDeps {
  blobs: BlobStore;
  repos: Pick<Repositories, "models">;
  log: Logger;
}

/** Validates an ONNX file and registers it as the next version of a model. */
export async function registerModelVersion(deps: RegistryDeps, input: RegisterModelInput) {
  const info = inspectOnnx(input.bytes);
  await assertOnnxRuntimeLoads(input.bytes);
  const sha256 = sha256Hex(input.bytes);
  await deps.blobs.put(input.bytes, { expectedSha256: sha256 });
  const { bytes, ...rest } = input;
  const version = await deps.repos.models.registerVersion(
    registrationOf({ ...rest, sha256, size: bytes.byteLength, info }),
  );
  deps.log.info({ event: "model.registered", model: input.name, version: version.version, sha256 });
  return version;
}

/** Builds (and releases) an ORT session; refuses what the runtime cannot load. */
async function assertOnnxRuntimeLoads(bytes: Uint8Array): Promise<void> {
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: "disabled",
      extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
    });
  } catch (error) {
    throw new InvalidModelError(`onnxruntime cannot load the model: ${(error as Error).message}`);
  } finally {
    await session?.release();
  }
}

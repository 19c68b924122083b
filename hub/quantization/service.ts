/**
 * `models quantize`: makes a trained model version's int8 variant and records what it costs. The
 * hub quantizes the version's ONNX file, runs the float and the int8 file on the version's own test
 * split (the training run's dataset, seed and fractions), stores the int8 file as a blob and
 * records sizes and metrics on the version. Packaging with `int8` then ships it as a variant for
 * int8 profiles, carrying those figures in the signed manifest, and the preflight lets it reach a
 * device only within the deployment's threshold (hub/fleet/preflight.ts).
 */
import {
  DOMAIN_ERROR_CODES,
  DomainError,
  type DomainErrorCode,
  found,
  ValidationError,
} from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import { plainError, runThread, type ThreadError, threadEntry } from "../../lib/worker-thread.js";
import type { QuantizableOp } from "../../modules/onnx/quantize/index.js";
import type { BlobStore } from "../blobs/blob-store.js";
import type { ModelInt8 } from "../db/schema/index.js";
import type { RunSpec } from "../jobs/spec.js";
import type { Repositories } from "../repos/index.js";
import type { ModelVersion } from "../repos/models.js";
import { type Int8Measurement, type MeasureInput, measureInt8 } from "./measure.js";

/** What quantizing uses. */
export interface QuantizationDeps {
  repos: Pick<Repositories, "models" | "runs" | "datasets">;
  blobs: BlobStore;
  log: Logger;
}

export interface QuantizeRequest {
  name: string;
  /** A version number or an alias. */
  version: string | number;
  ops?: QuantizableOp[];
  /** Default dynamic; static calibrates activation ranges on the run's training rows. */
  mode?: "dynamic" | "static";
  /** Who asked (recorded on the version). */
  by: string;
}

/** A domain error keeps its code across the thread boundary (a model the quantizer refuses is a 4xx). */
function revive(error: ThreadError): Error {
  if (error.code && (DOMAIN_ERROR_CODES as readonly string[]).includes(error.code)) {
    return new DomainError(error.code as DomainErrorCode, error.message, { details: error.details });
  }
  return plainError(error);
}

async function measure(input: MeasureInput): Promise<Int8Measurement> {
  const entry = threadEntry(import.meta.url, "measure-thread", { fromSources: true });
  if (!entry) return measureInt8(input);
  return runThread<Int8Measurement>(entry, input, { revive });
}

/** Quantizes a trained version and records its int8 variant; returns the updated version. */
export async function quantizeModelVersion(
  deps: QuantizationDeps,
  request: QuantizeRequest,
): Promise<ModelVersion> {
  const version = found(
    await deps.repos.models.resolveVersion(request.name, request.version),
    `model ${request.name} version ${request.version}`,
  );
  const runId = version.lineage?.run;
  if (!runId) {
    throw new ValidationError(
      `model ${request.name} version ${version.version} was uploaded, not trained by a run: there is no test split to validate an int8 variant on`,
    );
  }
  const run = found(await deps.repos.runs.get(runId), `run ${runId}`);
  const spec = run.spec as unknown as RunSpec;
  const dataset = found(
    await deps.repos.datasets.resolve(spec.dataset.name, spec.dataset.version),
    `dataset ${spec.dataset.name} version ${spec.dataset.version}`,
  );
  const started = Date.now();
  const measured = await measure({
    modelPath: deps.blobs.path(version.blobSha256),
    dataset: { path: deps.blobs.path(spec.dataset.version), format: dataset.format },
    ...(spec.extraRows ? { extraRowsPath: deps.blobs.path(spec.extraRows.blob) } : {}),
    spec,
    ...(request.ops ? { ops: request.ops } : {}),
    ...(request.mode ? { mode: request.mode } : {}),
  });
  const blob = await deps.blobs.put(measured.bytes);
  const { bytes: _bytes, ...figures } = measured;
  const int8: ModelInt8 = {
    sha256: blob.sha256,
    size: measured.bytes.byteLength,
    floatSize: version.size,
    ...figures,
    createdAt: new Date().toISOString(),
    by: request.by,
  };
  const updated = await deps.repos.models.setInt8(request.name, version.version, int8);
  deps.log.info({
    event: "model.quantized",
    model: request.name,
    mode: int8.mode,
    version: version.version,
    size: int8.size,
    floatSize: int8.floatSize,
    metric: int8.metric,
    float: int8.float,
    int8: int8.int8,
    relativeLoss: int8.relativeLoss,
    ms: Date.now() - started,
  });
  return updated;
}

/**
 * Test support: writes module folders (model file + Manifest object) the way the reconciler leaves
 * them after unpacking, so runtime and HTTP tests load real ONNX models without tarballs or signatures.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256Hex } from "../../lib/files.js";
import {
  type Manifest,
  type ManifestInput,
  parseManifest,
  type TensorDatatype,
} from "../../modules/manifest.js";
import { GraphBuilder } from "../../modules/onnx/builder.js";
import {
  buildIdsSumModel,
  buildMlpClassifier,
  buildSlowModel,
  type MlpModel,
} from "../../modules/onnx/models.js";

export interface ModuleDir {
  dir: string;
  manifest: Manifest;
  /** Removes the folder. */
  cleanup(): Promise<void>;
}

type ManifestFields = Omit<ManifestInput, "schemaVersion" | "model" | "createdAt"> &
  Partial<Pick<ManifestInput, "model">>;

/** Writes `bytes` as model.onnx in a fresh temp folder and returns it with its parsed manifest. */
export async function writeModuleDir(bytes: Uint8Array, fields: ManifestFields): Promise<ModuleDir> {
  const dir = await mkdtemp(join(tmpdir(), "edgefleet-module-"));
  await writeFile(join(dir, "model.onnx"), bytes);
  const manifest = parseManifest({
    schemaVersion: 1,
    model: { file: "model.onnx", sha256: sha256Hex(bytes), size: bytes.length },
    createdAt: new Date().toISOString(),
    ...fields,
  });
  return { dir, manifest, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export const CLASSIFIER_FEATURES = ["temp", "humidity", "vibration", "current"] as const;
export const CLASSIFIER_LABELS = ["ok", "warn", "fail"] as const;

/** A tabular 3-class MLP: features temp, humidity, vibration, current → "logits" [batch, 3]; softmax labels. */
export async function classifierModule(
  version = "1.0.0",
  seed = 1,
): Promise<ModuleDir & { model: MlpModel }> {
  const model = buildMlpClassifier({ inputSize: 4, hiddenSizes: [8], classes: 3, seed });
  const module = await writeModuleDir(model.bytes, {
    name: "classifier",
    version,
    inputs: [{ name: "features", datatype: "FP32", shape: [-1, 4] }],
    outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 3] }],
    preprocessing: {
      kind: "tabular",
      input: "features",
      features: [
        { name: "temp", mean: 20, std: 5 },
        { name: "humidity", mean: 50, std: 10 },
        { name: "vibration", default: 0 },
        { name: "current" },
      ],
    },
    postprocessing: { kind: "softmax", output: "logits", labels: [...CLASSIFIER_LABELS] },
  });
  return { ...module, model };
}

/** An INT64 model: "ids" INT64 [batch, 4] → "sum" FP32 [batch, 1] and "max_id" INT64 [batch, 1]. */
export async function idsModule(version = "1.0.0"): Promise<ModuleDir> {
  const model = buildIdsSumModel({ length: 4 });
  return writeModuleDir(model.bytes, {
    name: "ids",
    version,
    inputs: [{ name: "ids", datatype: "INT64", shape: [-1, 4] }],
    outputs: [
      { name: "sum", datatype: "FP32", shape: [-1, 1] },
      { name: "max_id", datatype: "INT64", shape: [-1, 1] },
    ],
  });
}

/** Every OIP datatype ONNX models use (the OIP tests round-trip each one). */
export const IDENTITY_DATATYPES = [
  "FP32",
  "FP64",
  "INT32",
  "INT64",
  "UINT8",
  "INT8",
  "BOOL",
  "FP16",
  "INT16",
  "UINT16",
  "UINT32",
  "UINT64",
  "BYTES",
] as const;

/** One Identity per datatype: "x_<type>" [batch, 2] → "y_<type>" [batch, 2], for datatype round trips. */
export async function identityModule(version = "1.0.0"): Promise<ModuleDir> {
  const g = new GraphBuilder("identity");
  const name = (prefix: string, datatype: TensorDatatype) => `${prefix}_${datatype.toLowerCase()}`;
  for (const datatype of IDENTITY_DATATYPES) g.input(name("x", datatype), datatype, ["batch", 2]);
  for (const datatype of IDENTITY_DATATYPES) {
    g.node("Identity", [name("x", datatype)], [name("y", datatype)]);
    g.output(name("y", datatype), datatype, ["batch", 2]);
  }
  const spec = (prefix: string) =>
    IDENTITY_DATATYPES.map((datatype) => ({ name: name(prefix, datatype), datatype, shape: [-1, 2] }));
  return writeModuleDir(g.toModel(), { name: "identity", version, inputs: spec("x"), outputs: spec("y") });
}

/**
 * A deliberately slow model, "x" FP32 [batch, 256] → "y" FP32 [batch, 256] (depth rounds of
 * MatMul + Tanh): tens to hundreds of milliseconds per run, for off-thread, queue and timeout tests.
 */
export async function slowModule(
  options: { name?: string; version?: string; depth?: number; runtime?: Record<string, unknown> } = {},
): Promise<ModuleDir> {
  const model = buildSlowModel({ size: 256, depth: options.depth ?? 400 });
  return writeModuleDir(model.bytes, {
    name: options.name ?? "slow",
    version: options.version ?? "1.0.0",
    inputs: [{ name: "x", datatype: "FP32", shape: [-1, 256] }],
    outputs: [{ name: "y", datatype: "FP32", shape: [-1, 256] }],
    ...(options.runtime ? { runtime: options.runtime } : {}),
  });
}

/**
 * The model file is checked against its manifest (size, then sha256) every time it is loaded, at
 * boot too: unpacking verified it once, but a disk that flips or zeroes blocks, or a stray write,
 * changes it later, and onnxruntime happily loads many damaged graphs and answers with garbage
 * (measured: 4 MiB of random bytes over an MLP's weights loaded and scored `null` probabilities).
 * Cost: one streamed sha256 of the file per load (bench A7, docs/development.md).
 */
import { stat } from "node:fs/promises";
import { sha256File } from "../../lib/files.js";
import { ModuleLoadError } from "./module-load-error.js";

/** The model file on disk is not the one the manifest names; the copy must be fetched again. */
export class ModelIntegrityError extends ModuleLoadError {
  /** A fresh download of the same module fixes it. */
  readonly transient = true;
  constructor(module: string, version: string, message: string) {
    super(module, version, message);
    this.name = "ModelIntegrityError";
  }
}

/** Throws ModelIntegrityError unless `path` has the manifest's size and sha256. */
export async function verifyModelFile(
  path: string,
  expected: { sha256: string; size: number },
  module: { name: string; version: string },
): Promise<void> {
  const fail = (message: string) => new ModelIntegrityError(module.name, module.version, message);
  const size = await stat(path).then(
    (info) => info.size,
    (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return null;
      throw error;
    },
  );
  if (size === null) throw fail(`${path} is missing`);
  if (size !== expected.size) throw fail(`${path} is ${size} bytes, the manifest says ${expected.size}`);
  const actual = await sha256File(path);
  if (actual !== expected.sha256)
    throw fail(`${path} has sha256 ${actual}, the manifest says ${expected.sha256}`);
}

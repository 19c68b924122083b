/**
 * `edgefleet models download`: streams a model version's bytes to a temp file next to the target,
 * checks size and sha256 against what the hub registered, then renames it into place, so an
 * interrupted or corrupted download never leaves a file that looks complete.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { access, rename, rm } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { HubClient } from "../../hub-api/client.js";
import { CliError } from "../hub-target.js";

export interface SavedModel {
  name: string;
  version: number;
  file: string;
  size: number;
  sha256: string;
}

/** Downloads `name` at `ref` (a number or an alias) to `output` (default NAME-VERSION.onnx; "-": stdout). */
export async function downloadModel(
  client: HubClient,
  options: { name: string; ref: string; output?: string; force?: boolean },
): Promise<SavedModel> {
  const { name, ref } = options;
  const response = await client.open(
    `/api/v1/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(ref)}/file`,
  );
  const version = Number(response.headers.get("x-model-version") ?? ref);
  const expected = response.headers.get("x-model-sha256");
  const file = options.output ?? `${name}-${version}.onnx`;
  if (!response.body) throw new CliError("the hub sent no body");
  const hash = createHash("sha256");
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.byteLength;
      done(null, chunk);
    },
  });
  const body = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream);
  if (file === "-") {
    await pipeline(body, counter, process.stdout);
    return checked({ name, version, file, size, sha256: hash.digest("hex") }, expected);
  }
  if (!options.force && (await exists(file))) {
    body.destroy();
    throw new CliError(`${file} exists; pass --force to overwrite it or --output to choose another name`);
  }
  const temp = `${file}.partial-${process.pid}`;
  try {
    await pipeline(body, counter, createWriteStream(temp, { flags: "wx" }));
    const saved = checked({ name, version, file, size, sha256: hash.digest("hex") }, expected);
    await rename(temp, file);
    return saved;
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

function checked(saved: SavedModel, expected: string | null): SavedModel {
  if (expected !== null && expected !== saved.sha256) {
    throw new CliError(
      `download of ${saved.name} version ${saved.version} is corrupt: sha256 ${saved.sha256}, the hub registered ${expected}`,
    );
  }
  return saved;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Unpacking a model module, safely. Order of checks: tar structure and entry names (format) →
 * ed25519 signature over the exact module.json bytes (signature) → manifest schema (format) →
 * model file size and sha256 (hash). Files land in a temp sibling folder that is renamed into place
 * only after every check passed; on any failure it is removed and `destDir` never appears.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { type FileHandle, mkdir, open, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Readable } from "node:stream";
import { fsyncFolder } from "../lib/files.js";
import { ModuleVerificationError } from "./errors.js";
import {
  MANIFEST_FILE,
  MAX_VARIANTS,
  type Manifest,
  modelFiles,
  parseManifest,
  SIGNATURE_FILE,
} from "./manifest.js";
import { verifyBytes } from "./sign.js";
import { readTarGz, type TarEntry } from "./tar-reader.js";

/** Limits on what a module may contain; small files are read into memory, the model is streamed. */
const MAX_MANIFEST_BYTES = 1024 * 1024; // 1 MiB: manifests are a few KB, baselines included
const MAX_SIGNATURE_BYTES = 1024; // a base64 ed25519 signature is 88 characters
const DEFAULT_MAX_MODEL_BYTES = 2 * 1024 ** 3; // 2 GiB: ONNX's own protobuf size limit
const MODEL_FILE = /^[A-Za-z0-9._-]+\.onnx$/;
/** The base model plus at most MAX_VARIANTS variant files. */
const MAX_MODEL_FILES = 1 + MAX_VARIANTS;

export interface UnpackOptions {
  /** The tarball bytes, or a path to it. */
  tarball: Uint8Array | string;
  /** Folder to create; must not exist yet. It holds module.json, module.sig and the model afterwards. */
  destDir: string;
  /** The hub's ed25519 public key (SPKI PEM) that agents pin. */
  publicKeyPem: string;
  maxModelBytes?: number;
}

interface ScannedModel {
  name: string;
  size: number;
  sha256: string;
}

interface ScanResult {
  manifestBytes?: Buffer;
  signature?: Buffer;
  models: ScannedModel[];
}

const formatError = (message: string) => new ModuleVerificationError("format", message);

async function readSmall(entry: TarEntry, limit: number): Promise<Buffer> {
  if (entry.size > limit) throw formatError(`${entry.path} is larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of entry.body) {
    size += chunk.length;
    if (size > limit) throw formatError(`${entry.path} is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Hashes a model entry and, when `folder` is given, writes it there. */
async function readModel(entry: TarEntry, folder: string | undefined): Promise<ScannedModel> {
  const hash = createHash("sha256");
  let handle: FileHandle | undefined;
  let size = 0;
  try {
    if (folder) handle = await open(join(folder, entry.path), "wx", 0o644);
    for await (const chunk of entry.body) {
      size += chunk.length;
      hash.update(chunk);
      if (handle) await handle.write(chunk);
    }
    await handle?.sync();
  } finally {
    await handle?.close();
  }
  return { name: entry.path, size, sha256: hash.digest("hex") };
}

function source(tarball: Uint8Array | string): Readable {
  return typeof tarball === "string" ? createReadStream(tarball) : Readable.from([Buffer.from(tarball)]);
}

/** Streams the tarball once, validating every entry; small files are kept, the model is hashed. */
async function scan(
  tarball: Uint8Array | string,
  maxModelBytes: number,
  folder?: string,
): Promise<ScanResult> {
  const result: ScanResult = { models: [] };
  const seen = new Set<string>();
  let modelEntries = 0;
  await readTarGz(source(tarball), {
    maxBytes: MAX_MODEL_FILES * maxModelBytes + MAX_MANIFEST_BYTES + MAX_SIGNATURE_BYTES + 64 * 1024,
    async onEntry(entry) {
      // Only three plain files are allowed, so no entry can name a path outside the folder.
      const known =
        entry.path === MANIFEST_FILE || entry.path === SIGNATURE_FILE || MODEL_FILE.test(entry.path);
      if (!known) throw formatError(`unexpected entry "${entry.path}" (${entry.type}) in module tarball`);
      if (entry.type !== "File")
        throw formatError(`entry "${entry.path}" is a ${entry.type}, not a plain file`);
      if (seen.has(entry.path)) throw formatError(`entry "${entry.path}" appears twice`);
      seen.add(entry.path);
      if (entry.path === MANIFEST_FILE || entry.path === SIGNATURE_FILE) {
        const limit = entry.path === MANIFEST_FILE ? MAX_MANIFEST_BYTES : MAX_SIGNATURE_BYTES;
        const bytes = await readSmall(entry, limit);
        if (entry.path === MANIFEST_FILE) result.manifestBytes = bytes;
        else result.signature = bytes;
        if (folder) await writeSmall(join(folder, entry.path), bytes);
        return;
      }
      // Counted before any await: the previous model's handler may still be closing its file.
      modelEntries += 1;
      if (modelEntries > MAX_MODEL_FILES)
        throw formatError(`more than ${MAX_MODEL_FILES} model files ("${entry.path}")`);
      if (entry.size > maxModelBytes)
        throw formatError(`${entry.path} is larger than ${maxModelBytes} bytes`);
      result.models.push(await readModel(entry, folder));
    },
  });
  return result;
}

async function writeSmall(path: string, data: Buffer): Promise<void> {
  const handle = await open(path, "wx", 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Applies the checks after the structure was read, in the documented order; returns the manifest. */
function verify(scanned: ScanResult, publicKeyPem: string | undefined): Manifest {
  if (!scanned.manifestBytes) throw formatError(`module tarball has no ${MANIFEST_FILE}`);
  if (publicKeyPem !== undefined) {
    if (!scanned.signature)
      throw new ModuleVerificationError("signature", `module tarball has no ${SIGNATURE_FILE}`);
    if (!verifyBytes(scanned.manifestBytes, scanned.signature.toString("utf8"), publicKeyPem)) {
      throw new ModuleVerificationError("signature", `${MANIFEST_FILE} is not signed by the trusted key`);
    }
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(JSON.parse(scanned.manifestBytes.toString("utf8")));
  } catch (error) {
    throw formatError(`${MANIFEST_FILE} is not a valid manifest: ${(error as Error).message}`);
  }
  // Exactly the declared model files (base and variants), each with the declared size and hash.
  const declared = modelFiles(manifest);
  const byName = new Map(scanned.models.map((m) => [m.name, m]));
  for (const model of scanned.models) {
    if (!declared.some((file) => file.file === model.name)) {
      throw formatError(
        declared.length === 1
          ? `model file is "${model.name}" but the manifest names "${manifest.model.file}"`
          : `model file "${model.name}" is not named by the manifest`,
      );
    }
  }
  for (const file of declared) {
    const model = byName.get(file.file);
    if (!model) throw formatError(`module tarball has no model file (${file.file})`);
    if (model.size !== file.size) {
      throw new ModuleVerificationError(
        "hash",
        `${model.name} has ${model.size} bytes, manifest says ${file.size}`,
      );
    }
    if (model.sha256 !== file.sha256) {
      throw new ModuleVerificationError(
        "hash",
        `${model.name} sha256 ${model.sha256} does not match the manifest`,
      );
    }
  }
  return manifest;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return false;
      throw error;
    },
  );
}

/**
 * Verifies and extracts a module into `destDir` (created atomically). Throws ModuleVerificationError
 * for a bad tarball, leaving nothing behind; I/O errors propagate as they are.
 */
export async function unpackModule(options: UnpackOptions): Promise<Manifest> {
  const { destDir } = options;
  if (await exists(destDir)) {
    throw Object.assign(new Error(`cannot unpack module: ${destDir} already exists`), { code: "EEXIST" });
  }
  const parent = dirname(destDir);
  await mkdir(parent, { recursive: true });
  const temp = join(parent, `.${basename(destDir)}.${randomBytes(6).toString("hex")}.tmp`);
  await mkdir(temp);
  try {
    const manifest = verify(
      await scan(options.tarball, options.maxModelBytes ?? DEFAULT_MAX_MODEL_BYTES, temp),
      options.publicKeyPem,
    );
    await fsyncFolder(temp);
    await rename(temp, destDir);
    await fsyncFolder(parent);
    return manifest;
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Reads and checks a module tarball without writing anything: structure, model hash and, when a key
 * is given, the signature. For the hub, to inspect uploaded or stored modules.
 */
export async function readManifestFromTarball(options: {
  tarball: Uint8Array | string;
  publicKeyPem?: string;
  maxModelBytes?: number;
}): Promise<Manifest> {
  return verify(
    await scan(options.tarball, options.maxModelBytes ?? DEFAULT_MAX_MODEL_BYTES),
    options.publicKeyPem,
  );
}

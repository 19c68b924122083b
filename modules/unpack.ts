/**
 * Unpacking a model module, safely. Order of checks: tar structure and entry names (format) →
 * module.json and module.sig before any model (format) → ed25519 signature over the exact
 * module.json bytes (signature) → manifest schema (format) → each model's tar size against the
 * manifest, before its first byte is written (hash) → model sha256 (hash). Files land in a temp sibling folder that is renamed into place
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
  /** Progress: model bytes written so far of the declared size (only after the manifest was verified). */
  onModelBytes?: (file: string, written: number, size: number) => void;
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

/**
 * Hashes a model entry and, when `folder` is given, writes it there. The manifest has been verified
 * by now, so `declaredSize` is trusted: a body longer than it stops before the extra byte is kept.
 */
async function readModel(
  entry: TarEntry,
  declaredSize: number,
  folder: string | undefined,
  onBytes: ((file: string, written: number, size: number) => void) | undefined,
): Promise<ScannedModel> {
  const hash = createHash("sha256");
  let handle: FileHandle | undefined;
  let size = 0;
  try {
    if (folder) handle = await open(join(folder, entry.path), "wx", 0o644);
    for await (const chunk of entry.body) {
      size += chunk.length;
      if (size > declaredSize) {
        throw new ModuleVerificationError(
          "hash",
          `${entry.path} has more than the ${declaredSize} bytes the manifest says`,
        );
      }
      hash.update(chunk);
      if (handle) {
        await handle.write(chunk);
        onBytes?.(entry.path, size, declaredSize);
      }
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

interface ScanOptions {
  maxModelBytes: number;
  /** Checked as soon as module.json and module.sig were read; undefined skips the signature. */
  publicKeyPem: string | undefined;
  folder?: string;
  onModelBytes?: (file: string, written: number, size: number) => void;
}

/**
 * Streams the tarball once. module.json and module.sig must come before any model file (the packer
 * writes them first): the signature and the manifest are checked when the first model entry
 * arrives, so no byte of a model is written (or even hashed) unless a trusted manifest names it
 * with exactly the size its tar header claims.
 */
async function scan(tarball: Uint8Array | string, options: ScanOptions): Promise<ScanResult> {
  const { maxModelBytes, publicKeyPem, folder } = options;
  const result: ScanResult = { models: [] };
  const seen = new Set<string>();
  let modelEntries = 0;
  let manifest: Manifest | undefined;
  let previous: Promise<void> = Promise.resolve();
  await readTarGz(source(tarball), {
    maxBytes: MAX_MODEL_FILES * maxModelBytes + MAX_MANIFEST_BYTES + MAX_SIGNATURE_BYTES + 64 * 1024,
    async onEntry(entry) {
      // One entry at a time, in archive order: the parser may announce a model while module.json's
      // handler is still reading, and the model must wait for the verdict on the manifest.
      const prior = previous;
      let done: () => void = () => {};
      previous = new Promise((resolve) => {
        done = resolve;
      });
      await prior;
      try {
        await handleEntry(entry);
      } finally {
        done();
      }
    },
  });
  return result;

  async function handleEntry(entry: TarEntry): Promise<void> {
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
    modelEntries += 1;
    if (modelEntries > MAX_MODEL_FILES)
      throw formatError(`more than ${MAX_MODEL_FILES} model files ("${entry.path}")`);
    if (entry.size > maxModelBytes) throw formatError(`${entry.path} is larger than ${maxModelBytes} bytes`);
    if (!result.manifestBytes)
      throw formatError(`module tarball has no ${MANIFEST_FILE} before its model file ${entry.path}`);
    manifest ??= verifyManifest(result, publicKeyPem);
    const declared = declaredModel(manifest, entry.path);
    if (entry.size !== declared.size) {
      throw new ModuleVerificationError(
        "hash",
        `${entry.path} has ${entry.size} bytes, manifest says ${declared.size}`,
      );
    }
    result.models.push(await readModel(entry, declared.size, folder, options.onModelBytes));
  }
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

/** The signature over the exact module.json bytes, then the manifest schema; returns the manifest. */
function verifyManifest(scanned: ScanResult, publicKeyPem: string | undefined): Manifest {
  if (!scanned.manifestBytes) throw formatError(`module tarball has no ${MANIFEST_FILE}`);
  if (publicKeyPem !== undefined) {
    if (!scanned.signature)
      throw new ModuleVerificationError(
        "signature",
        `module tarball has no ${SIGNATURE_FILE} before its model`,
      );
    if (!verifyBytes(scanned.manifestBytes, scanned.signature.toString("utf8"), publicKeyPem)) {
      throw new ModuleVerificationError("signature", `${MANIFEST_FILE} is not signed by the trusted key`);
    }
  }
  try {
    return parseManifest(JSON.parse(scanned.manifestBytes.toString("utf8")));
  } catch (error) {
    throw formatError(`${MANIFEST_FILE} is not a valid manifest: ${(error as Error).message}`);
  }
}

/** The manifest's entry for a model file in the tarball; a file it does not name is refused. */
function declaredModel(manifest: Manifest, name: string): { file: string; size: number; sha256: string } {
  const declared = modelFiles(manifest);
  const file = declared.find((candidate) => candidate.file === name);
  if (file) return file;
  throw formatError(
    declared.length === 1
      ? `model file is "${name}" but the manifest names "${manifest.model.file}"`
      : `model file "${name}" is not named by the manifest`,
  );
}

/** The checks left once the whole tarball was read: every declared model present, with its hash. */
function verify(scanned: ScanResult, publicKeyPem: string | undefined): Manifest {
  const manifest = verifyManifest(scanned, publicKeyPem);
  const byName = new Map(scanned.models.map((m) => [m.name, m]));
  for (const file of modelFiles(manifest)) {
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
    const scanned = await scan(options.tarball, {
      maxModelBytes: options.maxModelBytes ?? DEFAULT_MAX_MODEL_BYTES,
      publicKeyPem: options.publicKeyPem,
      folder: temp,
      ...(options.onModelBytes ? { onModelBytes: options.onModelBytes } : {}),
    });
    const manifest = verify(scanned, options.publicKeyPem);
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
  const scanned = await scan(options.tarball, {
    maxModelBytes: options.maxModelBytes ?? DEFAULT_MAX_MODEL_BYTES,
    publicKeyPem: options.publicKeyPem,
  });
  return verify(scanned, options.publicKeyPem);
}

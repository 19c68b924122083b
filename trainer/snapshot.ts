/**
 * Script snapshots: the folder a `edgefleet train --script` run ships to the hub, as a tar.gz whose
 * bytes depend only on the files (sorted paths, fixed mtime, normalised modes, no owners), so the
 * same folder is the same blob; and the worker's unpacking, which refuses anything that could write
 * outside its folder (absolute paths, `..`, links, devices).
 */
import { createWriteStream } from "node:fs";
import { lstat, mkdir, readdir, readFile } from "node:fs/promises";
import { dirname, join, posix, relative, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { gzipSync } from "node:zlib";
import { Header, Pax } from "tar";
import { ModuleVerificationError } from "../modules/errors.js";
import { readTarGz } from "../modules/tar-reader.js";
import { FIXED_MTIME } from "../modules/tar-writer.js";
import { ScriptError } from "./errors.js";

/** Folders never shipped: dependencies, VCS data and bytecode caches are rebuilt where the job runs. */
export const SNAPSHOT_SKIPPED = new Set(["node_modules", ".git", "__pycache__", ".venv"]);
const BLOCK = 512;
/** Unpacked size cap: a snapshot is code, not data (datasets travel as datasets). */
export const DEFAULT_MAX_UNPACKED_BYTES = 1024 * 1024 * 1024;
const MAX_ENTRIES = 100_000;

/** Relative POSIX paths of the files a snapshot of `dir` holds, sorted. Refuses symbolic links. */
export async function snapshotFiles(dir: string): Promise<string[]> {
  const root = resolve(dir);
  const files: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true });
    for (const entry of entries) {
      const path = join(folder, entry.name);
      const rel = relative(root, path).split(sep).join("/");
      if (entry.isDirectory()) {
        if (!SNAPSHOT_SKIPPED.has(entry.name)) await walk(path);
      } else if (entry.isFile()) {
        files.push(rel);
      } else if (entry.isSymbolicLink()) {
        throw new ScriptError(
          "bad_snapshot",
          `${rel} is a symbolic link; snapshots hold plain files only (copy the target in, or remove the link)`,
        );
      }
      // Sockets, FIFOs and devices are not code: skipped.
    }
  };
  await walk(root);
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function entryHeader(path: string, size: number, mode: number): Buffer {
  const fields = {
    path,
    mode,
    uid: 0,
    gid: 0,
    uname: "",
    gname: "",
    size,
    mtime: FIXED_MTIME,
    type: "File" as const,
  };
  const block = Buffer.alloc(BLOCK);
  const needsPax = new Header(fields).encode(block, 0);
  if (!needsPax) return block;
  // Long paths: a pax extended header carries the full path ahead of the ustar header.
  const pax = new Pax({ path, mtime: FIXED_MTIME }).encode();
  return Buffer.concat([pax, block]);
}

/** The tar.gz of `dir` (see snapshotFiles); same files and executable bits → same bytes. */
export async function createSnapshot(dir: string): Promise<Buffer> {
  const root = resolve(dir);
  const parts: Buffer[] = [];
  for (const rel of await snapshotFiles(root)) {
    const path = join(root, ...rel.split("/"));
    const [data, info] = await Promise.all([readFile(path), lstat(path)]);
    const mode = info.mode & 0o111 ? 0o755 : 0o644;
    parts.push(entryHeader(rel, data.byteLength, mode), data);
    const padding = (BLOCK - (data.byteLength % BLOCK)) % BLOCK;
    if (padding > 0) parts.push(Buffer.alloc(padding));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return gzipSync(Buffer.concat(parts), { level: 9 });
}

/** The entry's path inside `dest`, or a refusal naming it. */
function safeTarget(dest: string, path: string): string {
  const cleaned = path.replace(/\/+$/, "");
  const normal = posix.normalize(cleaned);
  if (
    cleaned === "" ||
    cleaned.startsWith("/") ||
    /^[A-Za-z]:/.test(cleaned) ||
    cleaned.includes("\0") ||
    cleaned.split("/").includes("..") ||
    normal.startsWith("../")
  ) {
    throw new ScriptError(
      "bad_snapshot",
      `snapshot entry "${path}" points outside the snapshot folder; refused`,
    );
  }
  const target = resolve(dest, ...normal.split("/"));
  if (target !== dest && !target.startsWith(`${dest}${sep}`)) {
    throw new ScriptError(
      "bad_snapshot",
      `snapshot entry "${path}" points outside the snapshot folder; refused`,
    );
  }
  return target;
}

/**
 * Unpacks a snapshot into `dest` (created). Only files and folders; links, devices and escaping
 * paths are refused with ScriptError("bad_snapshot") before their bytes are written.
 */
export async function unpackSnapshot(
  bytes: Uint8Array,
  dest: string,
  options: { maxBytes?: number } = {},
): Promise<{ files: number }> {
  const root = resolve(dest);
  await mkdir(root, { recursive: true });
  let files = 0;
  let entries = 0;
  try {
    await readTarGz(Readable.from([Buffer.from(bytes)]), {
      maxBytes: options.maxBytes ?? DEFAULT_MAX_UNPACKED_BYTES,
      onEntry: async (entry) => {
        if (++entries > MAX_ENTRIES)
          throw new ScriptError("bad_snapshot", `snapshot has more than ${MAX_ENTRIES} entries`);
        const target = safeTarget(root, entry.path);
        if (entry.type === "Directory") {
          await mkdir(target, { recursive: true });
          for await (const _ of entry.body) {
            // directories have no body; drain anyway
          }
          return;
        }
        if (entry.type !== "File" && entry.type !== "OldFile" && entry.type !== "ContiguousFile") {
          throw new ScriptError(
            "bad_snapshot",
            `snapshot entry "${entry.path}" is a ${entry.type}; only files and folders are allowed`,
          );
        }
        await mkdir(dirname(target), { recursive: true });
        // Executable bits survive (a `./train.sh` command); nothing else from the header is trusted.
        const mode = (entry.mode ?? 0o644) & 0o111 ? 0o755 : 0o644;
        await pipeline(Readable.from(entry.body), createWriteStream(target, { mode }));
        files++;
      },
    });
  } catch (error) {
    if (error instanceof ModuleVerificationError)
      throw new ScriptError("bad_snapshot", error.message.replace("module tarball", "snapshot"));
    throw error;
  }
  return { files };
}

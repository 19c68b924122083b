/**
 * Module tarball downloads: `${downloadsDir}/<sha256>.part` grows until it has `size` bytes (resumed
 * with an HTTP Range request after an interruption), then its size and sha256 are checked and it is
 * renamed to `<sha256>.tar.gz`. A finished file is therefore always a verified one.
 */
import { mkdir, open, rename, rm, stat, statfs } from "node:fs/promises";
import { join } from "node:path";
import { fsyncFolder, sha256File } from "../lib/files.js";
import type { Logger } from "../lib/log.js";

/** A download failure; only `transient` ones (the network, 5xx, 408, 429, a stall, a full disk) are retried. */
export class DownloadError extends Error {
  override readonly name = "DownloadError";
  constructor(
    message: string,
    readonly code: "http" | "size" | "hash" | "disk" | "stalled",
    readonly transient: boolean,
  ) {
    super(message);
  }
}

export interface DownloadRequest {
  url: string;
  sha256: string;
  size: number;
  downloadsDir: string;
  /** `Authorization` header value, when the URL is the hub's own (see `hubAuthorization`). */
  authorization?: string;
  /** The fetch to use (TLS trust and client certificate, lib/tls/client-tls.ts); global fetch by default. */
  fetch?: typeof fetch;
  signal?: AbortSignal;
  log: Logger;
  /** No byte for this long fails the attempt (transient) instead of hanging the reconciler. */
  idleTimeoutMs?: number;
  /** Called after each chunk is written to the `.part` file (bytes on disk so far, total). */
  onProgress?: (written: number, size: number) => void;
  /** Free bytes in the downloads folder; statfs by default (tests pass a smaller disk). */
  freeBytes?: (folder: string) => Promise<number>;
}

const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** Basic auth for URLs on the hub's origin only: the device secret is never sent to another host. */
export function hubAuthorization(
  url: string,
  hubUrl: string,
  deviceId: string,
  secret: string | undefined,
): string | undefined {
  // A device with a certificate and no secret authenticates with the certificate alone.
  if (secret === undefined) return undefined;
  if (new URL(url).origin !== new URL(hubUrl).origin) return undefined;
  return `Basic ${Buffer.from(`${deviceId}:${secret}`).toString("base64")}`;
}

/** Downloads (or resumes) a tarball and returns the path of the verified `<sha256>.tar.gz`. */
export async function downloadTarball(request: DownloadRequest): Promise<string> {
  const { sha256, size, downloadsDir, log } = request;
  const finalPath = join(downloadsDir, `${sha256}.tar.gz`);
  const partPath = join(downloadsDir, `${sha256}.part`);
  await mkdir(downloadsDir, { recursive: true });
  if ((await fileSize(finalPath)) === size && (await sha256File(finalPath)) === sha256) return finalPath;

  const resumedFrom = Math.min((await fileSize(partPath)) ?? 0, size + 1);
  let problem = await fetchAndCheck(request, partPath, resumedFrom);
  if (problem !== null && resumedFrom > 0) {
    // The bytes kept from before may be what is wrong: a power cut leaves zeroed or zero-extended
    // blocks in a file that was being appended to. Only a download from byte 0 can say the
    // tarball itself is bad, so start over once before calling the failure permanent.
    log.warn({ event: "download.restart", sha256, resumedFrom, reason: problem.message });
    problem = await fetchAndCheck(request, partPath, 0);
  }
  if (problem !== null) throw problem;
  await rename(partPath, finalPath);
  await fsyncFolder(downloadsDir);
  log.info({ event: "download.complete", sha256, size, resumedFrom });
  return finalPath;
}

/**
 * Brings `partPath` to `size` bytes from `offset` and checks size and sha256; returns the integrity
 * failure (the part file is removed then) or null when the part file is the tarball. Network and
 * disk errors throw as they are.
 */
async function fetchAndCheck(
  request: DownloadRequest,
  partPath: string,
  offset: number,
): Promise<DownloadError | null> {
  const { sha256, size, downloadsDir } = request;
  if (offset > size || offset === 0) {
    await rm(partPath, { force: true });
    offset = 0;
  }
  await ensureFreeSpace(downloadsDir, size, offset, request.freeBytes ?? statfsFreeBytes);
  if (offset < size) await fetchInto(request, partPath, offset);
  const got = (await fileSize(partPath)) ?? 0;
  if (got !== size) {
    await rm(partPath, { force: true });
    return new DownloadError(`tarball is ${got} bytes, expected ${size}`, "size", false);
  }
  const actual = await sha256File(partPath);
  if (actual !== sha256) {
    await rm(partPath, { force: true });
    return new DownloadError(`tarball sha256 is ${actual}, expected ${sha256}`, "hash", false);
  }
  return null;
}

/** Appends the bytes after `offset` to `partPath`, or rewrites it when the server ignores Range. */
async function fetchInto(request: DownloadRequest, partPath: string, offset: number): Promise<void> {
  const { url, size, log } = request;
  const idle = new AbortController();
  const signal = request.signal ? AbortSignal.any([request.signal, idle.signal]) : idle.signal;
  const idleMs = request.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  let timer = setTimeout(() => idle.abort(), idleMs);
  const headers: Record<string, string> = {};
  if (request.authorization) headers.authorization = request.authorization;
  if (offset > 0) headers.range = `bytes=${offset}-`;
  try {
    const response = await (request.fetch ?? fetch)(url, { headers, signal });
    let start = offset;
    if (response.status === 200) {
      start = 0; // The server sent the whole file: start over.
    } else if (response.status === 206) {
      const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers.get("content-range") ?? "");
      if (range === null || Number(range[1]) !== offset) {
        await response.body?.cancel();
        throw new DownloadError(
          `server answered a Range request with ${range ? range[0] : "no Content-Range"}`,
          "http",
          true,
        );
      }
    } else if (response.status === 416 && offset > 0) {
      // Our part file no longer matches what the server has; drop it and let the retry start from zero.
      await response.body?.cancel();
      await rm(partPath, { force: true });
      throw new DownloadError("server refused to resume (416); starting over", "http", true);
    } else {
      await response.body?.cancel();
      const transient = response.status >= 500 || response.status === 408 || response.status === 429;
      throw new DownloadError(`GET ${url} answered ${response.status}`, "http", transient);
    }
    if (offset > 0)
      log.info({ event: "download.resume", sha256: request.sha256, offset, restarted: start === 0 });
    // Each chunk is on disk before the next is read; when the connection drops, a fetch body
    // discards what it buffered but we had not read yet, so a resume re-fetches at most that.
    const handle = await open(partPath, start === 0 ? "w" : "a");
    let written = start;
    try {
      for await (const chunk of response.body ?? []) {
        written += chunk.byteLength;
        if (written > size) {
          await rm(partPath, { force: true });
          throw new DownloadError(`server sent more than the expected ${size} bytes`, "size", false);
        }
        await handle.write(chunk);
        request.onProgress?.(written, size);
        clearTimeout(timer);
        timer = setTimeout(() => idle.abort(), idleMs);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (idle.signal.aborted && !(request.signal?.aborted ?? false)) {
      throw new DownloadError(`no data from ${url} for ${idleMs} ms`, "stalled", true);
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Room for the rest of the tarball plus its unpacked copy (ONNX weights barely compress). */
async function ensureFreeSpace(
  folder: string,
  size: number,
  alreadyHave: number,
  freeBytes: (folder: string) => Promise<number>,
): Promise<void> {
  const free = await freeBytes(folder);
  const needed = size - alreadyHave + size;
  if (free < needed) {
    throw new DownloadError(`not enough disk space: ${needed} bytes needed, ${free} free`, "disk", true);
  }
}

/** Bytes available to this user in the folder's file system. */
async function statfsFreeBytes(folder: string): Promise<number> {
  const fs = await statfs(folder);
  return fs.bavail * fs.bsize;
}

/** Size in bytes, or null when the file does not exist. */
async function fileSize(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

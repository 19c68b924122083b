/**
 * Content-addressed blob store: `${dataDir}/blobs/sha256/<aa>/<full hash>`. A blob's name is the
 * sha256 of its bytes, so a stored blob never changes and identical uploads share one file.
 * Writes stream to a temp file while hashing, fsync, then rename: readers see a whole blob or none.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream as fsCreateReadStream } from "node:fs";
import { mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fsyncFolder, SHA256_HEX_PATTERN } from "../../lib/files.js";
import { NotFoundError, ValidationError } from "../repos/errors.js";

export const SHA256_PATTERN = SHA256_HEX_PATTERN;

export interface BlobInfo {
  sha256: string;
  size: number;
  /** Whether this call stored the bytes (false: the same content was already there). */
  created: boolean;
}

/** Blob files and folders are the hub's alone: datasets and models are not for other local users. */
const FILE_MODE = 0o600;
const FOLDER_MODE = 0o700;

export interface PutOptions {
  /** When given, the bytes must hash to this or nothing is kept (ValidationError). */
  expectedSha256?: string;
  /** Refuse (ValidationError, nothing kept) once more than this many bytes arrive. */
  maxBytes?: number;
}

/** Range of a read, in bytes; `end` is inclusive as in HTTP Range and fs.createReadStream. */
export interface ReadRange {
  start?: number;
  end?: number;
}

/** Throws ValidationError unless `sha` is 64 lowercase hex characters (so it can never name a path). */
export function assertSha256(sha: string): void {
  if (typeof sha !== "string" || !SHA256_PATTERN.test(sha)) {
    throw new ValidationError("blob id must be a sha256: 64 lowercase hex characters");
  }
}

/** Blob store rooted in a hub data folder. */
export class BlobStore {
  readonly #root: string;
  readonly #temp: string;

  constructor(dataDir: string) {
    this.#root = join(dataDir, "blobs", "sha256");
    this.#temp = join(dataDir, "blobs", "tmp");
  }

  /** File path of a blob (whether or not it exists). */
  path(sha: string): string {
    assertSha256(sha);
    return join(this.#root, sha.slice(0, 2), sha);
  }

  /** Stores bytes or a stream and returns its sha256 and size; storing existing content is a no-op. */
  async put(source: Uint8Array | Readable, options: PutOptions = {}): Promise<BlobInfo> {
    if (options.expectedSha256 !== undefined) assertSha256(options.expectedSha256);
    await mkdir(this.#temp, { recursive: true, mode: FOLDER_MODE });
    const temp = join(this.#temp, `${Date.now()}-${randomBytes(8).toString("hex")}.part`);
    const hash = createHash("sha256");
    let size = 0;
    let kept = false;
    try {
      const handle = await open(temp, "wx", FILE_MODE);
      try {
        const chunks: AsyncIterable<unknown> | Iterable<Uint8Array> =
          source instanceof Uint8Array ? [source] : source;
        for await (const chunk of chunks) {
          const bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Uint8Array);
          size += bytes.length;
          if (options.maxBytes !== undefined && size > options.maxBytes) {
            throw new ValidationError(`blob is larger than the limit of ${options.maxBytes} bytes`);
          }
          hash.update(bytes);
          await handle.write(bytes);
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      const sha256 = hash.digest("hex");
      if (options.expectedSha256 !== undefined && options.expectedSha256 !== sha256) {
        throw new ValidationError(
          `content sha256 ${sha256} does not match the expected ${options.expectedSha256}`,
        );
      }
      const final = this.path(sha256);
      if (!(await this.has(sha256))) {
        await mkdir(join(this.#root, sha256.slice(0, 2)), { recursive: true, mode: FOLDER_MODE });
        await rename(temp, final);
        kept = true;
        await fsyncFolder(join(this.#root, sha256.slice(0, 2)));
      }
      return { sha256, size, created: kept };
    } finally {
      if (!kept) await unlink(temp).catch(() => {});
    }
  }

  /** Removes a blob (a no-op when it is not there); for undoing a put whose row was refused. */
  async remove(sha: string): Promise<void> {
    await unlink(this.path(sha)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
  }

  /** True when the blob exists. */
  async has(sha: string): Promise<boolean> {
    return (await this.stat(sha)) !== null;
  }

  /** Size of the blob, or null when it does not exist. */
  async stat(sha: string): Promise<{ size: number } | null> {
    try {
      const info = await stat(this.path(sha));
      return info.isFile() ? { size: info.size } : null;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
  }

  /** The whole blob in memory; NotFoundError when missing. Prefer createReadStream for big blobs. */
  async read(sha: string): Promise<Buffer> {
    try {
      return await readFile(this.path(sha));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new NotFoundError("blob", sha);
      throw error;
    }
  }

  /**
   * A stream of the blob or of an inclusive byte range; NotFoundError when missing,
   * ValidationError when the range does not fit inside the blob.
   */
  async createReadStream(sha: string, range: ReadRange = {}): Promise<Readable> {
    const info = await this.stat(sha);
    if (!info) throw new NotFoundError("blob", sha);
    const start = range.start ?? 0;
    const end = range.end ?? info.size - 1;
    const valid =
      Number.isInteger(start) &&
      Number.isInteger(end) &&
      start >= 0 &&
      (info.size === 0 ? end === -1 && start === 0 : start <= end && end < info.size);
    if (!valid) throw new ValidationError(`range ${start}-${end} is outside the blob's ${info.size} bytes`);
    if (info.size === 0) return fsCreateReadStream(this.path(sha));
    return fsCreateReadStream(this.path(sha), { start, end });
  }
}

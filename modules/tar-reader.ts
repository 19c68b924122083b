/**
 * Streams a gzipped tar entry by entry without ever touching the file system itself: the caller
 * decides what each entry may be and where its bytes go. Decompressed bytes are capped, so a gzip
 * bomb stops early, and every structural problem becomes a ModuleVerificationError("format").
 */
import { once } from "node:events";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { Parser, type ReadEntry } from "tar";
import { ModuleVerificationError } from "./errors.js";

export interface TarEntry {
  /** Path as stored (after any pax override); the caller must validate it. */
  path: string;
  /** tar's type name: "File", "Directory", "SymbolicLink", "Link", ... */
  type: string;
  /** Size claimed by the header, known before any body byte is read. */
  size: number;
  /** Permission bits from the header (e.g. 0o755), when present. */
  mode?: number;
  /** The body; the handler must read it to the end (or throw). */
  body: AsyncIterable<Buffer>;
}

export interface ReadTarOptions {
  /** Cap on decompressed bytes (headers and padding included). */
  maxBytes: number;
  /** Called once per entry, in archive order; a throw stops reading and is rethrown as is. */
  onEntry(entry: TarEntry): Promise<void>;
}

const formatError = (detail: string) =>
  new ModuleVerificationError("format", `not a valid module tarball: ${detail}`);

/** Explains zlib's terse messages in the words an operator would search for. */
function describeStreamError(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "Z_DATA_ERROR" && /header/.test(error.message))
    return "not gzip data (incorrect header check)";
  if (code === "Z_BUF_ERROR" || /unexpected end of file/i.test(error.message)) return "truncated gzip data";
  return error.message;
}

/** Reads every entry of a tar.gz stream through `onEntry`; resolves when all entries were handled. */
export async function readTarGz(source: Readable, options: ReadTarOptions): Promise<void> {
  // strict: tar's recoverable warnings (bad checksums, truncation) become errors.
  const parser = new Parser({ strict: true, maxMetaEntrySize: 64 * 1024 });
  let failure: { error: Error; fromHandler: boolean } | undefined;
  let rejectFailed: (error: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    rejectFailed = reject;
  });
  failed.catch(() => {}); // observed through `failure`; this only unblocks waits
  const fail = (error: Error, fromHandler: boolean) => {
    failure ??= { error, fromHandler };
    rejectFailed(error);
  };
  const handlers: Promise<void>[] = [];
  const entries: ReadEntry[] = [];
  parser.on("error", (error: Error) => fail(error, false));
  parser.on("entry", (entry: ReadEntry) => {
    entries.push(entry);
    const body = (async function* () {
      for await (const chunk of entry) yield chunk as Buffer;
    })();
    const handled = options
      .onEntry({ path: entry.path, type: entry.type, size: entry.size, mode: entry.mode, body })
      .catch((error: Error) => {
        fail(error, true);
        entry.resume(); // let the parser move on so nothing waits on this entry
      });
    handlers.push(handled);
  });

  let total = 0;
  try {
    await pipeline(source, createGunzip(), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) {
        if (failure) return;
        total += chunk.length;
        if (total > options.maxBytes) {
          // Recorded before leaving: the pipeline's own abort error would otherwise win the race.
          fail(formatError(`more than ${options.maxBytes} bytes when decompressed`), true);
          return;
        }
        if (!parser.write(chunk)) await Promise.race([once(parser, "drain"), failed]);
      }
      if (failure) return;
      const ended = once(parser, "end");
      parser.end();
      await Promise.race([ended, failed]);
    });
    await Promise.all(handlers);
  } catch (error) {
    if (!failure) fail(error as Error, error instanceof ModuleVerificationError);
  }
  if (failure) {
    // The parser is abandoned mid-archive: end any unfinished entry so every handler returns and
    // closes what it opened before the caller cleans up.
    for (const entry of entries) {
      if (!entry.emittedEnd) entry.end();
    }
    await Promise.allSettled(handlers);
    if (failure.fromHandler || failure.error instanceof ModuleVerificationError) throw failure.error;
    // I/O errors reading the source (a missing file, a full disk) are not the tarball's fault.
    if ((failure.error as NodeJS.ErrnoException).syscall) throw failure.error;
    throw formatError(describeStreamError(failure.error));
  }
}

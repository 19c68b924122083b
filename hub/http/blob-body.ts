/**
 * Streams a stored blob as an HTTP answer: Range (206/416), If-None-Match (304), an immutable
 * ETag (content-addressed bytes never change). Blob downloads and model file downloads share it.
 */
import { Readable } from "node:stream";
import type { Context } from "hono";
import type { BlobStore } from "../blobs/blob-store.js";
import { ApiError } from "./errors.js";
import { parseRange } from "./range.js";

/** The blob behind `sha256` as the response body; `extraHeaders` adds e.g. content-disposition. */
export async function blobBody(
  c: Context,
  blobs: Pick<BlobStore, "stat" | "createReadStream">,
  sha256: string,
  extraHeaders: Record<string, string> = {},
): Promise<Response> {
  const stat = await blobs.stat(sha256);
  if (!stat) throw new ApiError("not_found", `no blob ${sha256}`);
  const etag = `"${sha256}"`;
  const headers: Record<string, string> = {
    "content-type": "application/octet-stream",
    "accept-ranges": "bytes",
    etag,
    "cache-control": "private, max-age=31536000, immutable",
    ...extraHeaders,
  };
  if (c.req.header("if-none-match") === etag) return c.body(null, 304, headers);
  const range = parseRange(c.req.header("range"), stat.size);
  if (range.kind === "unsatisfiable") {
    c.header("content-range", `bytes */${stat.size}`);
    throw new ApiError(
      "range_not_satisfiable",
      `range ${c.req.header("range")} is outside 0-${stat.size - 1}`,
    );
  }
  const [start, end] = range.kind === "partial" ? [range.start, range.end] : [0, stat.size - 1];
  headers["content-length"] = String(stat.size === 0 ? 0 : end - start + 1);
  if (range.kind === "partial") headers["content-range"] = `bytes ${start}-${end}/${stat.size}`;
  const stream = stat.size === 0 ? Readable.from([]) : await blobs.createReadStream(sha256, { start, end });
  return c.body(Readable.toWeb(stream) as ReadableStream, range.kind === "partial" ? 206 : 200, headers);
}

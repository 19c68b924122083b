/** Content-addressed blobs (model files, module tarballs), with Range for resumable downloads. */
import { Readable } from "node:stream";
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { Sha256HexSchema } from "../../../wire/messages.js";
import type { BlobStore } from "../../blobs/blob-store.js";
import { allowDevicesOr } from "../auth.js";
import { ApiError, ErrorBodySchema } from "../errors.js";
import { parseRange } from "../range.js";
import { type ApiApp, createRouter } from "../router.js";

const Sha256Param = z.object({ sha256: Sha256HexSchema });

const download = createRoute({
  method: "get",
  path: "/api/v1/blobs/{sha256}",
  summary: "Download a blob; supports Range (206) and If-None-Match; devices may call it with Basic auth",
  middleware: [allowDevicesOr("viewer")] as const,
  request: { params: Sha256Param },
  security: [{ bearer: [] }, { device: [] }],
  responses: {
    200: { description: "The whole blob", content: { "application/octet-stream": { schema: z.any() } } },
    206: { description: "The requested range", content: { "application/octet-stream": { schema: z.any() } } },
    404: { description: "No such blob", content: { "application/json": { schema: ErrorBodySchema } } },
    416: {
      description: "Range not satisfiable",
      content: { "application/json": { schema: ErrorBodySchema } },
    },
  },
});

/** What the blob routes use: the blob store. */
export interface BlobRouteDeps {
  blobs: Pick<BlobStore, "stat" | "createReadStream">;
}

/** The blob routes, as a router to mount. */
export function blobRoutes(deps: BlobRouteDeps): ApiApp {
  const app = createRouter();
  app.openapi(download, async (c) => {
    const { sha256 } = Sha256Param.parse({ sha256: c.req.param("sha256") });
    const stat = await deps.blobs.stat(sha256);
    if (!stat) throw new ApiError("not_found", `no blob ${sha256}`);
    const etag = `"${sha256}"`;
    const headers: Record<string, string> = {
      "content-type": "application/octet-stream",
      "accept-ranges": "bytes",
      etag,
      // Content-addressed: the bytes behind a hash never change.
      "cache-control": "private, max-age=31536000, immutable",
    };
    if (c.req.header("if-none-match") === etag) return c.body(null, 304, headers) as never;
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
    const stream =
      stat.size === 0 ? Readable.from([]) : await deps.blobs.createReadStream(sha256, { start, end });
    return c.body(
      Readable.toWeb(stream) as ReadableStream,
      range.kind === "partial" ? 206 : 200,
      headers,
    ) as never;
  });
  return app;
}

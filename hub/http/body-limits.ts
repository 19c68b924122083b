/**
 * Body limits, enforced while the body streams in: a declared `Content-Length` over the limit is
 * refused before a byte is read, and a chunked body is counted as it arrives and refused the
 * moment it passes the limit, so memory grows with the limit, never with what a client sends.
 * Uploads (models, datasets, snapshots) have their configured limits; every other route, JSON, the
 * JSON limit.
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError } from "./errors.js";
import type { ApiEnv } from "./router.js";

export interface UploadLimit {
  method: string;
  /** Matches the request path. */
  path: RegExp;
  bytes: number;
  what: string;
}

export interface BodyLimitOptions {
  /** Limit for every route that is not an upload. */
  jsonBytes: number;
  uploads: readonly UploadLimit[];
}

/**
 * Applies the limit of the route a request is for.
 * @example app.use("/api/v1/*", bodyLimits({ jsonBytes: 1 << 20, uploads }))
 */
export function bodyLimits(options: BodyLimitOptions): MiddlewareHandler<ApiEnv> {
  const limiter = (bytes: number, what: string) =>
    bodyLimit({
      maxSize: bytes,
      onError: (c) => {
        // The rest of the body is never read: tell the client not to reuse the connection.
        c.header("connection", "close");
        throw new ApiError("payload_too_large", `the ${what} is over the ${bytes}-byte limit`, {
          code: "too_large",
          limit: bytes,
        });
      },
    });
  const json = limiter(options.jsonBytes, "request body");
  const uploads = options.uploads.map((upload) => ({ ...upload, limit: limiter(upload.bytes, upload.what) }));
  return async function limitBody(c, next) {
    const upload = uploads.find((u) => u.method === c.req.method && u.path.test(c.req.path));
    return (upload ? upload.limit : json)(c, next);
  };
}

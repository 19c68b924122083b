/** Content-addressed blobs (model files, module tarballs), with Range for resumable downloads. */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { Sha256HexSchema } from "../../../wire/messages.js";
import type { BlobStore } from "../../blobs/blob-store.js";
import { allowDevicesOr } from "../auth.js";
import { blobBody } from "../blob-body.js";
import { ErrorBodySchema } from "../errors.js";
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
    return (await blobBody(c, deps.blobs, sha256)) as never;
  });
  return app;
}

/** Content-addressed blobs (model files, module tarballs), with Range for resumable downloads. */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { Sha256HexSchema } from "../../../wire/messages.js";
import type { BlobStore } from "../../blobs/blob-store.js";
import type { Repositories } from "../../repos/index.js";
import { allowDevicesOr, allowRunInputReaders } from "../auth.js";
import { blobBody } from "../blob-body.js";
import { ErrorBodySchema } from "../errors.js";
import { type ApiApp, createRouter } from "../router.js";
import { assertRunInputReadable } from "../run-input-scope.js";

const Sha256Param = z.object({ sha256: Sha256HexSchema });

const download = createRoute({
  method: "get",
  path: "/api/v1/blobs/{sha256}",
  summary: "Download a blob; supports Range (206) and If-None-Match; devices may call it with Basic auth",
  middleware: [
    async function allowBlobReaders(c, next) {
      // Devices, and operators from viewer up; trainer and attempt tokens within their runs' inputs.
      return c.get("principal")?.kind === "device"
        ? allowDevicesOr("viewer")(c, next)
        : allowRunInputReaders("viewer")(c, next);
    },
  ] as const,
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
  repos: Pick<Repositories, "attemptTokens">;
}

/** The blob routes, as a router to mount. */
export function blobRoutes(deps: BlobRouteDeps): ApiApp {
  const app = createRouter();
  app.openapi(download, async (c) => {
    const { sha256 } = Sha256Param.parse({ sha256: c.req.param("sha256") });
    await assertRunInputReadable(c.get("principal"), sha256, deps.repos.attemptTokens);
    return (await blobBody(c, deps.blobs, sha256)) as never;
  });
  return app;
}

/** Models: upload an ONNX file as a new model version; list and show versions. */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { HubContext } from "../../context.js";
import { registerModelVersion } from "../../services/registry.js";
import type { ApiApp } from "../app.js";
import { requireRole } from "../auth.js";
import { ApiError, found } from "../errors.js";
import { jsonOk } from "./schemas.js";

export const ModelNameSchema = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/, "lowercase letters, digits, '.', '_' or '-', 1-64 long");

const Any = z.record(z.string(), z.unknown());

const list = createRoute({
  method: "get",
  path: "/api/v1/models",
  summary: "List models with their latest version",
  middleware: [requireRole("viewer")] as const,
  responses: jsonOk(z.object({ models: z.array(Any) }), "Models"),
});

const versions = createRoute({
  method: "get",
  path: "/api/v1/models/{name}/versions",
  summary: "List the versions of a model",
  middleware: [requireRole("viewer")] as const,
  request: { params: z.object({ name: ModelNameSchema }) },
  responses: jsonOk(z.object({ versions: z.array(Any) }), "Versions"),
});

const showVersion = createRoute({
  method: "get",
  path: "/api/v1/models/{name}/versions/{version}",
  summary: "One model version: sha256, size, input/output signature, opsets",
  middleware: [requireRole("viewer")] as const,
  request: { params: z.object({ name: ModelNameSchema, version: z.coerce.number().int().positive() }) },
  responses: jsonOk(Any, "The model version"),
});

const upload = createRoute({
  method: "post",
  path: "/api/v1/models/{name}/versions",
  summary: "Upload an ONNX file (raw body) as the next version of a model; malformed files are refused",
  middleware: [requireRole("operator")] as const,
  request: {
    params: z.object({ name: ModelNameSchema }),
    query: z.object({ description: z.string().max(1024).optional() }),
    body: {
      content: { "application/octet-stream": { schema: z.string().meta({ format: "binary" }) } },
      required: true,
    },
  },
  responses: jsonOk(Any, "The new model version"),
});

/** Registers the model routes. */
export function registerModelRoutes(app: ApiApp, hub: HubContext): void {
  app.openapi(list, async (c) => c.json({ models: await hub.repos.models.listModels() }, 200));

  app.openapi(versions, async (c) => {
    const { name } = c.req.valid("param");
    return c.json({ versions: await hub.repos.models.listVersions(name) }, 200);
  });

  app.openapi(showVersion, async (c) => {
    const { name, version } = c.req.valid("param");
    return c.json(
      found(await hub.repos.models.getVersion(name, version), `model ${name} version ${version}`),
      200,
    );
  });

  app.openapi(upload, async (c) => {
    const { name } = c.req.valid("param");
    const { description } = c.req.valid("query");
    const declared = Number(c.req.header("content-length") ?? "0");
    if (declared > hub.config.maxModelBytes) {
      throw new ApiError(
        "payload_too_large",
        `model is ${declared} bytes; the limit is ${hub.config.maxModelBytes}`,
      );
    }
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.byteLength > hub.config.maxModelBytes) {
      throw new ApiError("payload_too_large", `model is over the ${hub.config.maxModelBytes}-byte limit`);
    }
    const version = await registerModelVersion(hub, { name, bytes, description });
    return c.json(version, 200);
  });
}

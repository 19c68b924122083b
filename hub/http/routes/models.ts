/** Models: upload an ONNX file as a new model version; list and show versions. */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { HubConfig } from "../../config.js";
import { AliasNameSchema, type ModelVersion } from "../../repos/models.js";
import { type RegistryDeps, registerModelVersion } from "../../services/registry.js";
import { requireRole } from "../auth.js";
import { blobBody } from "../blob-body.js";
import { ApiError, found } from "../errors.js";
import {
  AliasSchema,
  ComparedVersionSchema,
  ModelSummarySchema,
  ModelVersionSchema,
  ModelVersionWithAliasesSchema,
} from "../responses/models.js";
import { type ApiApp, createRouter } from "../router.js";
import { ErrorResponses, INT4_MAX, jsonOk } from "./schemas.js";

export const ModelNameSchema = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/, "lowercase letters, digits, '.', '_' or '-', 1-64 long");

const list = createRoute({
  method: "get",
  path: "/api/v1/models",
  summary: "List models with their latest version",
  middleware: [requireRole("viewer")] as const,
  responses: jsonOk(z.object({ models: z.array(ModelSummarySchema) }), "Models"),
});

const versions = createRoute({
  method: "get",
  path: "/api/v1/models/{name}/versions",
  summary: "List the versions of a model",
  middleware: [requireRole("viewer")] as const,
  request: { params: z.object({ name: ModelNameSchema }) },
  responses: jsonOk(z.object({ versions: z.array(ModelVersionSchema) }), "Versions"),
});

const VersionRef = z.union([z.string().regex(/^[1-9][0-9]{0,8}$/, "a version number"), AliasNameSchema]);

const showVersion = createRoute({
  method: "get",
  path: "/api/v1/models/{name}/versions/{version}",
  summary: "One model version (a number or an alias): sha256, signature, opsets, aliases, lineage, metrics",
  middleware: [requireRole("viewer")] as const,
  request: { params: z.object({ name: ModelNameSchema, version: VersionRef }) },
  responses: jsonOk(ModelVersionWithAliasesSchema, "The model version"),
});

const downloadFile = createRoute({
  method: "get",
  path: "/api/v1/models/{name}/versions/{version}/file",
  summary: "The ONNX bytes of a model version (a number or an alias); supports Range and If-None-Match",
  middleware: [requireRole("viewer")] as const,
  request: { params: z.object({ name: ModelNameSchema, version: VersionRef }) },
  responses: {
    200: { description: "The ONNX file", content: { "application/octet-stream": { schema: z.any() } } },
    206: { description: "The requested range", content: { "application/octet-stream": { schema: z.any() } } },
    ...ErrorResponses,
  },
});

const AliasParam = z.object({ name: ModelNameSchema, alias: AliasNameSchema });

const listAliases = createRoute({
  method: "get",
  path: "/api/v1/models/{name}/aliases",
  summary: "A model's aliases and the versions they point at",
  middleware: [requireRole("viewer")] as const,
  request: { params: z.object({ name: ModelNameSchema }) },
  responses: jsonOk(z.object({ aliases: z.array(AliasSchema) }), "Aliases"),
});

const setAlias = createRoute({
  method: "put",
  path: "/api/v1/models/{name}/aliases/{alias}",
  summary: "Point an alias (e.g. champion) at a version",
  middleware: [requireRole("operator")] as const,
  request: {
    params: AliasParam,
    body: {
      content: {
        "application/json": { schema: z.object({ version: z.number().int().positive().max(INT4_MAX) }) },
      },
      required: true,
    },
  },
  responses: jsonOk(AliasSchema, "The alias"),
});

const deleteAlias = createRoute({
  method: "delete",
  path: "/api/v1/models/{name}/aliases/{alias}",
  summary: "Remove an alias",
  middleware: [requireRole("operator")] as const,
  request: { params: AliasParam },
  responses: { 204: { description: "Removed" }, ...ErrorResponses },
});

const compare = createRoute({
  method: "get",
  path: "/api/v1/models/{name}/compare",
  summary: "Versions side by side (numbers or aliases): lineage and metrics",
  middleware: [requireRole("viewer")] as const,
  request: {
    params: z.object({ name: ModelNameSchema }),
    query: z.object({ versions: z.string().min(1).max(1024).describe("comma-separated numbers or aliases") }),
  },
  responses: jsonOk(
    z.object({ versions: z.array(ComparedVersionSchema), metrics: z.array(z.string()) }),
    "Comparison",
  ),
});

function aliasView(a: { alias: string; version: number; updatedAt: Date }) {
  return { alias: a.alias, version: a.version, updatedAt: a.updatedAt.toISOString() };
}

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
  responses: jsonOk(ModelVersionSchema, "The new model version"),
});

/** What the model routes use: the registry's dependencies and the upload limit. */
export interface ModelRouteDeps extends RegistryDeps {
  config: Pick<HubConfig, "maxModelBytes">;
}

/** The model routes, as a router to mount. */
export function modelRoutes(deps: ModelRouteDeps): ApiApp {
  const app = createRouter();
  app.openapi(list, async (c) => c.json({ models: await deps.repos.models.listModels() }, 200));

  app.openapi(versions, async (c) => {
    const { name } = c.req.valid("param");
    return c.json({ versions: await deps.repos.models.listVersions(name) }, 200);
  });

  /** Aliases of each version of a model (empty lists for versions without any). */
  const aliasesOf = async (name: string) => {
    const byVersion = new Map<number, string[]>();
    const model = await deps.repos.models.getModel(name);
    if (!model) return byVersion;
    for (const a of await deps.repos.models.listAliases(name)) {
      byVersion.set(a.version, [...(byVersion.get(a.version) ?? []), a.alias]);
    }
    return byVersion;
  };
  const withAliases = (v: ModelVersion, aliases: Map<number, string[]>) => ({
    ...v,
    aliases: aliases.get(v.version) ?? [],
  });

  app.openapi(showVersion, async (c) => {
    const { name, version } = c.req.valid("param");
    const row = found(
      await deps.repos.models.resolveVersion(name, version),
      `model ${name} version ${version}`,
    );
    return c.json(withAliases(row, await aliasesOf(name)), 200);
  });

  app.openapi(downloadFile, async (c) => {
    const { name, version } = c.req.valid("param");
    const row = found(
      await deps.repos.models.resolveVersion(name, version),
      `model ${name} version ${version}`,
    );
    // The registered bytes, named after the version; x-model-sha256 lets a client check them.
    return (await blobBody(c, deps.blobs, row.blobSha256, {
      "content-disposition": `attachment; filename="${name}-${row.version}.onnx"`,
      "x-model-version": String(row.version),
      "x-model-sha256": row.sha256,
    })) as never;
  });

  app.openapi(listAliases, async (c) => {
    const { name } = c.req.valid("param");
    return c.json({ aliases: (await deps.repos.models.listAliases(name)).map(aliasView) }, 200);
  });

  app.openapi(setAlias, async (c) => {
    const { name, alias } = c.req.valid("param");
    const { version } = c.req.valid("json");
    const row = await deps.repos.models.setAlias(name, alias, version);
    deps.log.info({ event: "model.alias", model: name, alias, version });
    return c.json(aliasView(row), 200);
  });

  app.openapi(deleteAlias, async (c) => {
    const { name, alias } = c.req.valid("param");
    if (!(await deps.repos.models.deleteAlias(name, alias))) {
      throw new ApiError("not_found", `model ${name} has no alias ${alias}`);
    }
    return c.body(null, 204) as never;
  });

  app.openapi(compare, async (c) => {
    const { name } = c.req.valid("param");
    const refs = c.req
      .valid("query")
      .versions.split(",")
      .map((r) => r.trim())
      .filter(Boolean);
    const aliases = await aliasesOf(name);
    const versions = [];
    const metricNames = new Set<string>();
    for (const ref of refs) {
      const row = found(await deps.repos.models.resolveVersion(name, ref), `model ${name} version ${ref}`);
      for (const split of Object.values(row.metrics ?? {})) {
        for (const key of Object.keys(split ?? {})) metricNames.add(key);
      }
      versions.push({
        version: row.version,
        aliases: aliases.get(row.version) ?? [],
        lineage: row.lineage,
        metrics: row.metrics,
        createdAt: row.createdAt.toISOString(),
      });
    }
    return c.json({ versions, metrics: [...metricNames].sort() }, 200);
  });

  app.openapi(upload, async (c) => {
    const { name } = c.req.valid("param");
    const { description } = c.req.valid("query");
    const declared = Number(c.req.header("content-length") ?? "0");
    if (declared > deps.config.maxModelBytes) {
      throw new ApiError(
        "payload_too_large",
        `model is ${declared} bytes; the limit is ${deps.config.maxModelBytes}`,
      );
    }
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.byteLength > deps.config.maxModelBytes) {
      throw new ApiError("payload_too_large", `model is over the ${deps.config.maxModelBytes}-byte limit`);
    }
    const version = await registerModelVersion(deps, { name, bytes, description });
    return c.json(version, 200);
  });
  return app;
}

/** Modules: package a model version with pre/post-processing into a signed tarball. */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { CreateModuleBodySchema } from "../../services/module-request.js";
import { createModule, type PackagingDeps } from "../../services/packaging.js";
import { requireRole } from "../auth.js";
import { found } from "../errors.js";
import { ModuleSchema } from "../responses/modules.js";
import { type ApiApp, createRouter } from "../router.js";
import { jsonOk } from "./schemas.js";

const list = createRoute({
  method: "get",
  path: "/api/v1/modules",
  summary: "List module versions (optionally of one module: ?name=)",
  middleware: [requireRole("viewer")] as const,
  request: { query: z.object({ name: z.string().optional() }) },
  responses: jsonOk(z.object({ modules: z.array(ModuleSchema) }), "Modules"),
});

const show = createRoute({
  method: "get",
  path: "/api/v1/modules/{name}/versions/{version}",
  summary: "One module version with its manifest",
  middleware: [requireRole("viewer")] as const,
  request: { params: z.object({ name: z.string(), version: z.string() }) },
  responses: jsonOk(ModuleSchema, "The module version"),
});

const create = createRoute({
  method: "post",
  path: "/api/v1/modules",
  summary: "Package a model version into a signed module version",
  middleware: [requireRole("operator")] as const,
  request: { body: { content: { "application/json": { schema: CreateModuleBodySchema } }, required: true } },
  responses: jsonOk(ModuleSchema, "The new module version"),
});

/** What the module routes use: packaging's dependencies (the modules repository among them). */
export type ModuleRouteDeps = PackagingDeps;

/** The module routes, as a router to mount. */
export function moduleRoutes(deps: ModuleRouteDeps): ApiApp {
  const app = createRouter();
  app.openapi(list, async (c) =>
    c.json({ modules: await deps.repos.modules.list(c.req.valid("query").name) }, 200),
  );

  app.openapi(show, async (c) => {
    const { name, version } = c.req.valid("param");
    return c.json(found(await deps.repos.modules.get(name, version), `module ${name}@${version}`), 200);
  });

  app.openapi(create, async (c) => c.json(await createModule(deps, c.req.valid("json")), 200));
  return app;
}

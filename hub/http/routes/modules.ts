/** Modules: package a model version with pre/post-processing into a signed tarball. */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { MonitoringSchema } from "../../../drift-summary/monitoring.js";
import {
  MAX_VARIANTS,
  ModuleNameSchema,
  ModuleVariantSchema,
  PostprocessingSchema,
  PreprocessingSchema,
  ResourceNeedsSchema,
  RuntimeOptionsSchema,
  SemverSchema,
  VariantRequiresSchema,
} from "../../../modules/manifest.js";
import type { HubContext } from "../../context.js";
import { createModule } from "../../services/packaging.js";
import type { ApiApp } from "../app.js";
import { requireRole } from "../auth.js";
import { found } from "../errors.js";
import { jsonOk } from "./schemas.js";

const CreateModuleBody = z.object({
  name: ModuleNameSchema,
  version: SemverSchema,
  description: z.string().max(1024).optional(),
  model: z.object({ name: z.string().min(1), version: z.number().int().positive() }),
  preprocessing: PreprocessingSchema.optional(),
  postprocessing: PostprocessingSchema.optional(),
  runtime: RuntimeOptionsSchema.partial().optional(),
  resources: ResourceNeedsSchema.optional(),
  /** Drift monitoring bins and training reference (drift-summary/monitoring.ts); trained models get it from their baseline. */
  monitoring: MonitoringSchema.optional(),
  /** Per-profile variants, tried in order by each device; `model` serves devices no variant fits. */
  variants: z
    .array(
      z.object({
        name: ModuleVariantSchema.shape.name,
        model: z.object({ name: z.string().min(1), version: z.number().int().positive() }),
        requires: VariantRequiresSchema.optional(),
        runtime: ModuleVariantSchema.shape.runtime,
      }),
    )
    .max(MAX_VARIANTS)
    .optional(),
});
export type CreateModuleRequest = z.infer<typeof CreateModuleBody>;

const Any = z.record(z.string(), z.unknown());

const list = createRoute({
  method: "get",
  path: "/api/v1/modules",
  summary: "List module versions (optionally of one module: ?name=)",
  middleware: [requireRole("viewer")] as const,
  request: { query: z.object({ name: z.string().optional() }) },
  responses: jsonOk(z.object({ modules: z.array(Any) }), "Modules"),
});

const show = createRoute({
  method: "get",
  path: "/api/v1/modules/{name}/versions/{version}",
  summary: "One module version with its manifest",
  middleware: [requireRole("viewer")] as const,
  request: { params: z.object({ name: z.string(), version: z.string() }) },
  responses: jsonOk(Any, "The module version"),
});

const create = createRoute({
  method: "post",
  path: "/api/v1/modules",
  summary: "Package a model version into a signed module version",
  middleware: [requireRole("operator")] as const,
  request: { body: { content: { "application/json": { schema: CreateModuleBody } }, required: true } },
  responses: jsonOk(Any, "The new module version"),
});

/** Registers the module routes. */
export function registerModuleRoutes(app: ApiApp, hub: HubContext): void {
  app.openapi(list, async (c) =>
    c.json({ modules: await hub.repos.modules.list(c.req.valid("query").name) }, 200),
  );

  app.openapi(show, async (c) => {
    const { name, version } = c.req.valid("param");
    return c.json(found(await hub.repos.modules.get(name, version), `module ${name}@${version}`), 200);
  });

  app.openapi(create, async (c) => c.json(await createModule(hub, c.req.valid("json")), 200));
}

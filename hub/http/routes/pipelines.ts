/**
 * Pipelines: run a spec (dataset → train → evaluate → quantize → package → deploy) as one unit,
 * list runs, show one with its steps. Operators run, viewers read. Semantics: hub/pipelines/README.md.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { ModuleNameSchema } from "../../../modules/manifest.js";
import type { PipelineRunner } from "../../pipelines/runner.js";
import { pipelineSummaryView, pipelineView } from "../../pipelines/views.js";
import type { Repositories } from "../../repos/index.js";
import { principalName, requireRole } from "../auth.js";
import { found } from "../errors.js";
import { PipelineRunSchema, PipelineRunSummarySchema } from "../responses/pipelines.js";
import { type ApiApp, createRouter } from "../router.js";
import { ErrorResponses, jsonOk } from "./schemas.js";

const run = createRoute({
  method: "post",
  path: "/api/v1/pipelines",
  summary:
    "Run a pipeline spec; steps whose inputs hash matches an earlier computed step are reused. 400 and nothing created when the spec does not check out",
  middleware: [requireRole("operator")] as const,
  request: {
    // The spec is checked in full by the runner (hub state included), so a bad one is one 400.
    body: { content: { "application/json": { schema: z.record(z.string(), z.unknown()) } }, required: true },
  },
  responses: {
    201: {
      description: "The pipeline run, started",
      content: { "application/json": { schema: PipelineRunSchema } },
    },
    ...ErrorResponses,
  },
});

const list = createRoute({
  method: "get",
  path: "/api/v1/pipelines",
  summary: "Pipeline runs, newest first",
  middleware: [requireRole("viewer")] as const,
  request: {
    query: z.object({
      name: ModuleNameSchema.optional(),
      limit: z.coerce.number().int().positive().max(1000).optional(),
    }),
  },
  responses: jsonOk(z.object({ pipelines: z.array(PipelineRunSummarySchema) }), "Pipeline runs"),
});

const show = createRoute({
  method: "get",
  path: "/api/v1/pipelines/{id}",
  summary: "One pipeline run with its steps: status, inputs hash, output, what each reused",
  middleware: [requireRole("viewer")] as const,
  request: { params: z.object({ id: z.uuid() }) },
  responses: jsonOk(PipelineRunSchema, "The pipeline run"),
});

/** What the pipeline routes use. */
export interface PipelineRouteDeps {
  repos: Pick<Repositories, "pipelines">;
  pipelines: Pick<PipelineRunner, "submit">;
}

/** The pipeline routes, as a router to mount. */
export function pipelineRoutes(deps: PipelineRouteDeps): ApiApp {
  const app = createRouter();
  app.openapi(run, async (c) => {
    const principal = c.get("principal");
    const by = principalName(principal);
    const created = await deps.pipelines.submit(c.req.valid("json"), by);
    return c.json(pipelineView(created), 201);
  });
  app.openapi(list, async (c) => {
    const query = c.req.valid("query");
    const rows = await deps.repos.pipelines.list(query);
    return c.json({ pipelines: rows.map(pipelineSummaryView) }, 200);
  });
  app.openapi(show, async (c) => {
    const { id } = c.req.valid("param");
    const row = found(await deps.repos.pipelines.get(id), `pipeline run ${id}`);
    return c.json(pipelineView(row), 200);
  });
  return app;
}

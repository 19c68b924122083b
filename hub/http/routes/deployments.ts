/**
 * Deployments: create (with a strategy: all-at-once, canary, waves; a rate limit; gates and a
 * priority), list, show with waves and per-device state, and the rollout commands pause, resume,
 * abort and rollback.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { DEPLOYMENT_STATUSES } from "../../db/schema/deployments.js";
import { SelectorSchema } from "../../fleet/selector.js";
import { RolloutRequestSchema } from "../../rollouts/spec.js";
import type { DeploymentDeps } from "../../services/deployments.js";
import {
  commandDeployment,
  deployModule,
  deploymentStatus,
  listDeployments,
} from "../../services/deployments.js";
import { principalName, requireRole } from "../auth.js";
import {
  CreatedDeploymentSchema,
  DeploymentListItemSchema,
  DeploymentStatusSchema,
} from "../responses/deployments.js";
import { type ApiApp, createRouter } from "../router.js";
import { jsonOk } from "./schemas.js";

const CreateDeploymentBody = RolloutRequestSchema.extend({
  module: z.string().min(1),
  version: z.string().min(1),
  selector: SelectorSchema,
  /** Higher wins per module where deployments overlap on a device; ties go to the newest. */
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
  /** Largest relative metric loss an int8 (validated) variant may have on its test split; default 0.01. */
  maxVariantLoss: z.number().min(0).max(1).optional(),
});

const IdParams = z.object({ id: z.string().uuid() });

const list = createRoute({
  method: "get",
  path: "/api/v1/deployments",
  summary: "List deployments, newest first, each with progress (active of targeted devices)",
  middleware: [requireRole("viewer")] as const,
  request: {
    query: z.object({ status: z.enum(DEPLOYMENT_STATUSES).optional(), module: z.string().optional() }),
  },
  responses: jsonOk(z.object({ deployments: z.array(DeploymentListItemSchema) }), "Deployments"),
});

const show = createRoute({
  method: "get",
  path: "/api/v1/deployments/{id}",
  summary: "One deployment with its waves, gate results, per-device state and counts",
  middleware: [requireRole("viewer")] as const,
  request: { params: IdParams },
  responses: jsonOk(DeploymentStatusSchema, "The deployment"),
});

const create = createRoute({
  method: "post",
  path: "/api/v1/deployments",
  summary: "Deploy a module version to the selected devices with a rollout strategy",
  middleware: [requireRole("operator")] as const,
  request: { body: { content: { "application/json": { schema: CreateDeploymentBody } }, required: true } },
  responses: jsonOk(CreatedDeploymentSchema, "The deployment"),
});

const commandRoute = (command: "pause" | "resume" | "abort" | "rollback", summary: string) =>
  createRoute({
    method: "post",
    path: `/api/v1/deployments/{id}/${command}`,
    summary,
    middleware: [requireRole("operator")] as const,
    request: { params: IdParams },
    responses: jsonOk(DeploymentStatusSchema, "The deployment after the command"),
  });

const COMMANDS = [
  commandRoute("pause", "Pause an active rollout (no more devices, no gate decisions)"),
  commandRoute("resume", "Resume a paused rollout (the current wave's bake starts again)"),
  commandRoute("abort", "Stop a rollout for good; devices already released keep the version"),
  commandRoute(
    "rollback",
    "Take the version back from every released device (they get what the other deployments give)",
  ),
] as const;

/** What the deployment routes use: the deployments service's dependencies. */
export type DeploymentRouteDeps = DeploymentDeps;

/** The deployment routes, as a router to mount. */
export function deploymentRoutes(deps: DeploymentRouteDeps): ApiApp {
  const app = createRouter();
  app.openapi(list, async (c) => {
    const query = c.req.valid("query");
    return c.json(
      { deployments: await listDeployments(deps, { status: query.status, moduleName: query.module }) },
      200,
    );
  });
  app.openapi(show, async (c) => c.json(await deploymentStatus(deps, c.req.valid("param").id), 200));
  app.openapi(create, async (c) => {
    const principal = c.get("principal");
    const createdBy = principalName(principal);
    return c.json(await deployModule(deps, { ...c.req.valid("json"), createdBy }), 200);
  });
  for (const route of COMMANDS) {
    const command = route.path.slice(route.path.lastIndexOf("/") + 1) as
      | "pause"
      | "resume"
      | "abort"
      | "rollback";
    app.openapi(route, async (c) => {
      const principal = c.get("principal");
      const by = principalName(principal);
      return c.json(await commandDeployment(deps, c.req.valid("param").id, command, by), 200);
    });
  }
  return app;
}

/**
 * Deployments: create (with a strategy: all-at-once, canary, waves; a rate limit; gates and a
 * priority), list, show with waves and per-device state, and the rollout commands pause, resume,
 * abort and rollback.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { HubContext } from "../../context.js";
import { DEPLOYMENT_STATUSES } from "../../db/schema/deployments.js";
import { RolloutRequestSchema } from "../../rollouts/spec.js";
import { commandDeployment, deployModule, deploymentStatus } from "../../services/deployments.js";
import type { ApiApp } from "../app.js";
import { requireRole } from "../auth.js";
import { DeviceIdSchema, jsonOk, TagsSchema } from "./schemas.js";

export const SelectorSchema = z
  .object({ deviceIds: z.array(DeviceIdSchema).min(1).optional(), tags: TagsSchema.optional() })
  .refine((s) => s.deviceIds !== undefined || (s.tags !== undefined && Object.keys(s.tags).length > 0), {
    message: "a selector needs deviceIds or at least one tag",
  });

const CreateDeploymentBody = RolloutRequestSchema.extend({
  module: z.string().min(1),
  version: z.string().min(1),
  selector: SelectorSchema,
  /** Higher wins per module where deployments overlap on a device; ties go to the newest. */
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
});

const Any = z.record(z.string(), z.unknown());
const IdParams = z.object({ id: z.string().uuid() });

const list = createRoute({
  method: "get",
  path: "/api/v1/deployments",
  summary: "List deployments, newest first",
  middleware: [requireRole("viewer")] as const,
  request: {
    query: z.object({ status: z.enum(DEPLOYMENT_STATUSES).optional(), module: z.string().optional() }),
  },
  responses: jsonOk(z.object({ deployments: z.array(Any) }), "Deployments"),
});

const show = createRoute({
  method: "get",
  path: "/api/v1/deployments/{id}",
  summary: "One deployment with its waves, gate results, per-device state and counts",
  middleware: [requireRole("viewer")] as const,
  request: { params: IdParams },
  responses: jsonOk(Any, "The deployment"),
});

const create = createRoute({
  method: "post",
  path: "/api/v1/deployments",
  summary: "Deploy a module version to the selected devices with a rollout strategy",
  middleware: [requireRole("operator")] as const,
  request: { body: { content: { "application/json": { schema: CreateDeploymentBody } }, required: true } },
  responses: jsonOk(Any, "The deployment"),
});

const commandRoute = (command: "pause" | "resume" | "abort" | "rollback", summary: string) =>
  createRoute({
    method: "post",
    path: `/api/v1/deployments/{id}/${command}`,
    summary,
    middleware: [requireRole("operator")] as const,
    request: { params: IdParams },
    responses: jsonOk(Any, "The deployment after the command"),
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

/** Registers the deployment routes. */
export function registerDeploymentRoutes(app: ApiApp, hub: HubContext): void {
  app.openapi(list, async (c) => {
    const query = c.req.valid("query");
    return c.json(
      { deployments: await hub.repos.deployments.list({ status: query.status, moduleName: query.module }) },
      200,
    );
  });
  app.openapi(show, async (c) => c.json(await deploymentStatus(hub, c.req.valid("param").id), 200));
  app.openapi(create, async (c) => {
    const principal = c.get("principal");
    const createdBy = principal.kind === "operator" ? principal.name : principal.deviceId;
    return c.json(await deployModule(hub, { ...c.req.valid("json"), createdBy }), 200);
  });
  for (const route of COMMANDS) {
    const command = route.path.slice(route.path.lastIndexOf("/") + 1) as
      | "pause"
      | "resume"
      | "abort"
      | "rollback";
    app.openapi(route, async (c) => {
      const principal = c.get("principal");
      const by = principal.kind === "operator" ? principal.name : principal.deviceId;
      return c.json(await commandDeployment(hub, c.req.valid("param").id, command, by), 200);
    });
  }
}

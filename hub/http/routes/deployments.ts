/** Deployments: a module version to devices chosen by id or tag (all at once for now). */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { HubContext } from "../../context.js";
import { deployModule, deploymentStatus } from "../../services/deployments.js";
import type { ApiApp } from "../app.js";
import { requireRole } from "../auth.js";
import { DeviceIdSchema, jsonOk, TagsSchema } from "./schemas.js";

export const SelectorSchema = z
  .object({ deviceIds: z.array(DeviceIdSchema).min(1).optional(), tags: TagsSchema.optional() })
  .refine((s) => s.deviceIds !== undefined || (s.tags !== undefined && Object.keys(s.tags).length > 0), {
    message: "a selector needs deviceIds or at least one tag",
  });

const CreateDeploymentBody = z.object({
  module: z.string().min(1),
  version: z.string().min(1),
  selector: SelectorSchema,
  strategy: z.literal("all-at-once").default("all-at-once"),
});

const Any = z.record(z.string(), z.unknown());

const list = createRoute({
  method: "get",
  path: "/api/v1/deployments",
  summary: "List deployments, newest first",
  middleware: [requireRole("viewer")] as const,
  responses: jsonOk(z.object({ deployments: z.array(Any) }), "Deployments"),
});

const show = createRoute({
  method: "get",
  path: "/api/v1/deployments/{id}",
  summary: "One deployment with per-device state and counts",
  middleware: [requireRole("viewer")] as const,
  request: { params: z.object({ id: z.string().uuid() }) },
  responses: jsonOk(Any, "The deployment"),
});

const create = createRoute({
  method: "post",
  path: "/api/v1/deployments",
  summary: "Deploy a module version to the selected devices (sets their desired state)",
  middleware: [requireRole("operator")] as const,
  request: { body: { content: { "application/json": { schema: CreateDeploymentBody } }, required: true } },
  responses: jsonOk(Any, "The deployment"),
});

/** Registers the deployment routes. */
export function registerDeploymentRoutes(app: ApiApp, hub: HubContext): void {
  app.openapi(list, async (c) => c.json({ deployments: await hub.repos.deployments.list() }, 200));
  app.openapi(show, async (c) => c.json(await deploymentStatus(hub, c.req.valid("param").id), 200));
  app.openapi(create, async (c) => {
    const principal = c.get("principal");
    const createdBy = principal.kind === "operator" ? principal.name : principal.deviceId;
    return c.json(await deployModule(hub, { ...c.req.valid("json"), createdBy }), 200);
  });
}

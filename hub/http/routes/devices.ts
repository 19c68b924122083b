/** Devices: provision (id + secret), list with selectors, show twin state. */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { Logger } from "../../../lib/log.js";
import { checkProfile } from "../../fleet/profile-check.js";
import type { SigningKeys } from "../../keys.js";
import type { Device, Repositories } from "../../repos/index.js";
import { deviceMerge } from "../../services/deployments.js";
import type { HubUrls } from "../../urls.js";
import { requireRole } from "../auth.js";
import { found } from "../errors.js";
import { type ApiApp, createRouter } from "../router.js";
import { requireKnownProfile } from "./profiles.js";
import { DeviceIdSchema, jsonOk, parseTagSelector, TagsSchema } from "./schemas.js";

const ProvisionBody = z.object({
  id: DeviceIdSchema.optional(),
  name: z.string().max(128).optional(),
  tags: TagsSchema.optional(),
  profile: z.string().max(64).optional(),
});

const DeviceSchema = z.record(z.string(), z.unknown()).meta({ id: "Device" });

const list = createRoute({
  method: "get",
  path: "/api/v1/devices",
  summary: "List devices, optionally by tag selector (tag=k=v,k2=v2) or ids (ids=a,b)",
  middleware: [requireRole("viewer")] as const,
  request: { query: z.object({ tag: z.string().optional(), ids: z.string().optional() }) },
  responses: jsonOk(z.object({ devices: z.array(DeviceSchema) }), "Devices"),
});

const show = createRoute({
  method: "get",
  path: "/api/v1/devices/{id}",
  summary: "One device with status, desired and reported state",
  middleware: [requireRole("viewer")] as const,
  request: { params: z.object({ id: DeviceIdSchema }) },
  responses: jsonOk(DeviceSchema, "The device"),
});

const provision = createRoute({
  method: "post",
  path: "/api/v1/devices",
  summary: "Provision a device: returns its id and secret (shown once) and how to connect",
  middleware: [requireRole("operator")] as const,
  request: { body: { content: { "application/json": { schema: ProvisionBody } }, required: true } },
  responses: jsonOk(
    z.object({
      device: DeviceSchema,
      secret: z.string(),
      hubUrl: z.string(),
      mqttUrl: z.string(),
      trustKey: z.string(),
    }),
    "The new device and its credentials",
  ),
});

/** What the device routes use: devices and deployments (for the merge view), the addresses and trust key a new device needs. */
export interface DeviceRouteDeps {
  repos: Pick<Repositories, "devices" | "deployments">;
  urls: HubUrls;
  signing: Pick<SigningKeys, "publicKeyPem">;
  log: Logger;
}

/** The device routes, as a router to mount. */
export function deviceRoutes(deps: DeviceRouteDeps): ApiApp {
  const app = createRouter();
  app.openapi(list, async (c) => {
    const query = c.req.valid("query");
    const ids = query.ids ? query.ids.split(",").map((id) => DeviceIdSchema.parse(id.trim())) : undefined;
    const devices = await deps.repos.devices.list({ tags: parseTagSelector(query.tag), ids });
    return c.json({ devices: devices.map(withProfileCheck) }, 200);
  });

  app.openapi(show, async (c) => {
    const { id } = c.req.valid("param");
    const device = withProfileCheck(found(await deps.repos.devices.get(id), `device ${id}`));
    // Which deployment supplied each desired module and which ones it overrode (layered deployments).
    return c.json({ ...device, merge: await deviceMerge(deps, id) }, 200);
  });

  app.openapi(provision, async (c) => {
    const body = c.req.valid("json");
    if (body.profile !== undefined) requireKnownProfile(body.profile);
    const { device, secret } = await deps.repos.devices.provision(body);
    deps.log.info({ event: "device.provisioned", deviceId: device.id });
    return c.json(
      {
        device,
        secret,
        hubUrl: deps.urls.api,
        mqttUrl: deps.urls.mqtt,
        trustKey: deps.signing.publicKeyPem,
      },
      200,
    );
  });
  return app;
}

/** A device as the API shows it: stored columns plus its profile check, computed now. */
function withProfileCheck(device: Device) {
  return {
    ...device,
    profileCheck: checkProfile({
      profile: device.profile,
      capabilities: device.capabilities,
      agentProfile: device.status?.profile ?? null,
    }),
  };
}

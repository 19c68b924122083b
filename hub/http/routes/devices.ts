/** Devices: provision (id + secret), list with selectors, show twin state. */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { Logger } from "../../../lib/log.js";
import { checkProfile } from "../../fleet/profile-check.js";
import type { SigningKeys } from "../../keys.js";
import type { DeviceRefusals } from "../../mqtt/device-refusals.js";
import type { Device, Repositories } from "../../repos/index.js";
import { deviceMerge } from "../../services/deployments.js";
import type { HubUrls } from "../../urls.js";
import { type Principal, requireRole } from "../auth.js";
import { found } from "../errors.js";
import { DeviceDetailSchema, DeviceSchema, ProvisionedDeviceSchema } from "../responses/devices.js";
import { type ApiApp, createRouter } from "../router.js";
import { requireKnownProfile } from "./profiles.js";
import { DeviceIdSchema, jsonOk, parseTagSelector, TagsSchema } from "./schemas.js";

const ProvisionBody = z.object({
  id: DeviceIdSchema.optional(),
  name: z.string().max(128).optional(),
  tags: TagsSchema.optional(),
  profile: z.string().max(64).optional(),
});

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
  responses: jsonOk(DeviceDetailSchema, "The device"),
});

const provision = createRoute({
  method: "post",
  path: "/api/v1/devices",
  summary: "Provision a device: returns its id and secret (shown once) and how to connect",
  middleware: [requireRole("operator")] as const,
  request: { body: { content: { "application/json": { schema: ProvisionBody } }, required: true } },
  responses: jsonOk(
    z.object({
      device: ProvisionedDeviceSchema,
      secret: z.string(),
      hubUrl: z.string(),
      mqttUrl: z.string(),
      trustKey: z.string(),
      /** PEM CA bundle to verify the hub's TLS certificate; absent on a plaintext hub or a publicly trusted certificate. */
      ca: z.string().optional(),
    }),
    "The new device and its credentials",
  ),
});

const IdParam = { params: z.object({ id: DeviceIdSchema }) };

const disable = createRoute({
  method: "post",
  path: "/api/v1/devices/{id}/disable",
  summary: "Disable a device: its secret and certificate are refused and its live MQTT session is closed",
  middleware: [requireRole("operator")] as const,
  request: IdParam,
  responses: jsonOk(z.object({ device: DeviceSchema, disconnected: z.boolean() }), "The disabled device"),
});

const enable = createRoute({
  method: "post",
  path: "/api/v1/devices/{id}/enable",
  summary: "Enable a disabled device again",
  middleware: [requireRole("operator")] as const,
  request: IdParam,
  responses: jsonOk(z.object({ device: DeviceSchema }), "The enabled device"),
});

const rotateSecret = createRoute({
  method: "post",
  path: "/api/v1/devices/{id}/rotate-secret",
  summary: "Issue a new device secret (shown once); the old one stops working and its session is closed",
  middleware: [requireRole("operator")] as const,
  request: IdParam,
  responses: jsonOk(
    z.object({ deviceId: z.string(), secret: z.string(), disconnected: z.boolean() }),
    "The new secret",
  ),
});

const remove = createRoute({
  method: "delete",
  path: "/api/v1/devices/{id}",
  summary: "Delete a device: its credentials stop working at once; its telemetry and events stay as history",
  middleware: [requireRole("operator")] as const,
  request: IdParam,
  responses: jsonOk(z.object({ deleted: z.boolean(), disconnected: z.boolean() }), "Deleted"),
});

/** Closes a device's live broker session; an external broker cannot be told, so it answers false. */
export interface DeviceSessions {
  disconnect(deviceId: string): Promise<boolean>;
}

/** What the device routes use: devices and deployments (for the merge view), the addresses and trust key a new device needs. */
export interface DeviceRouteDeps {
  repos: Pick<Repositories, "devices" | "deployments">;
  urls: HubUrls;
  signing: Pick<SigningKeys, "publicKeyPem">;
  sessions: DeviceSessions;
  /** The CA bundle devices verify the hub with (provisioning answers); none on a plaintext hub. */
  tlsTrustPem?: string | undefined;
  /** Device messages the hub refused, per device (hub/mqtt/device-refusals.ts). */
  refusals: Pick<DeviceRefusals, "of">;
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
    return c.json({ ...device, merge: await deviceMerge(deps, id), refusals: deps.refusals.of(id) }, 200);
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
        ...(deps.tlsTrustPem ? { ca: deps.tlsTrustPem } : {}),
      },
      200,
    );
  });
  app.openapi(disable, async (c) => {
    const { id } = c.req.valid("param");
    const device = await deps.repos.devices.setDisabled(id, true);
    const disconnected = await deps.sessions.disconnect(id);
    deps.log.info({ event: "device.disabled", deviceId: id, by: actorOf(c), disconnected });
    return c.json({ device: withProfileCheck(device), disconnected }, 200);
  });

  app.openapi(enable, async (c) => {
    const { id } = c.req.valid("param");
    const device = await deps.repos.devices.setDisabled(id, false);
    deps.log.info({ event: "device.enabled", deviceId: id, by: actorOf(c) });
    return c.json({ device: withProfileCheck(device) }, 200);
  });

  app.openapi(rotateSecret, async (c) => {
    const { id } = c.req.valid("param");
    const secret = await deps.repos.devices.rotateSecret(id);
    // The live session authenticated with the old secret: it must prove the new one.
    const disconnected = await deps.sessions.disconnect(id);
    deps.log.info({ event: "device.secret_rotated", deviceId: id, by: actorOf(c), disconnected });
    return c.json({ deviceId: id, secret, disconnected }, 200);
  });

  app.openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    await deps.repos.devices.delete(id);
    const disconnected = await deps.sessions.disconnect(id);
    deps.log.info({ event: "device.deleted", deviceId: id, by: actorOf(c), disconnected });
    return c.json({ deleted: true, disconnected }, 200);
  });
  return app;
}

/** Who made a call, for the log line of a credential change. */
function actorOf(c: { get(key: "principal"): Principal | undefined }): string {
  const principal = c.get("principal");
  if (!principal) return "unknown";
  if (principal.kind === "operator") return `token:${principal.tokenId}`;
  if (principal.kind === "device") return `device:${principal.deviceId}`;
  return `attempt:${principal.runId}/${principal.attempt}`;
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

/**
 * Device certificates (mutual TLS): the hub's CA signs a device's CSR, the certificate's sha256
 * becomes the one the hub accepts for that device (an earlier one stops working), and revoking
 * clears it. Either change closes the device's live broker session at once.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { Logger } from "../../../lib/log.js";
import type { Repositories } from "../../repos/index.js";
import type { CertificateAuthority } from "../../tls/authority.js";
import { requireRole } from "../auth.js";
import { ApiError } from "../errors.js";
import { type ApiApp, createRouter } from "../router.js";
import type { DeviceSessions } from "./devices.js";
import { DeviceIdSchema, jsonOk } from "./schemas.js";

/** Largest CSR accepted, in characters (a P-256 CSR is ~500, an RSA-4096 one ~1,800). */
const MAX_CSR_CHARS = 16 * 1024;

const IdParam = { params: z.object({ id: DeviceIdSchema }) };

const issue = createRoute({
  method: "post",
  path: "/api/v1/devices/{id}/certificate",
  summary:
    "Sign a device's CSR with the hub's CA (subject CN = device id, client auth); replaces its earlier certificate and closes its live session",
  middleware: [requireRole("operator")] as const,
  request: {
    ...IdParam,
    body: {
      content: { "application/json": { schema: z.object({ csr: z.string().min(1).max(MAX_CSR_CHARS) }) } },
      required: true,
    },
  },
  responses: jsonOk(
    z.object({
      deviceId: z.string(),
      certificate: z.string(),
      ca: z.string(),
      sha256: z.string(),
      serialNumber: z.string(),
      notAfter: z.string(),
      disconnected: z.boolean(),
    }),
    "The signed certificate and the CA that signed it",
  ),
});

const revoke = createRoute({
  method: "delete",
  path: "/api/v1/devices/{id}/certificate",
  summary: "Revoke a device's certificate: refused from now on, its live session closed",
  middleware: [requireRole("operator")] as const,
  request: IdParam,
  responses: jsonOk(z.object({ deviceId: z.string(), disconnected: z.boolean() }), "Revoked"),
});

export interface DeviceCertificateRouteDeps {
  repos: Pick<Repositories, "devices">;
  /** The hub's CA; absent on a plaintext hub, where these routes answer 409. */
  authority?: CertificateAuthority | undefined;
  sessions: DeviceSessions;
  log: Logger;
}

/** The device certificate routes, as a router to mount. */
export function deviceCertificateRoutes(deps: DeviceCertificateRouteDeps): ApiApp {
  const app = createRouter();
  app.openapi(issue, async (c) => {
    const { id } = c.req.valid("param");
    const { csr } = c.req.valid("json");
    const authority = deps.authority;
    if (!authority)
      throw new ApiError(
        "conflict",
        "this hub runs without TLS (start it with --tls auto or certificate files)",
      );
    if (!(await deps.repos.devices.get(id))) throw new ApiError("not_found", `no device ${id}`);
    const issued = await authority.signDeviceCsr(id, csr);
    await deps.repos.devices.setCertificate(id, { sha256: issued.sha256, notAfter: issued.notAfter });
    // A session on the replaced certificate must not outlive it.
    const disconnected = await deps.sessions.disconnect(id);
    deps.log.info({
      event: "device.certificate_issued",
      deviceId: id,
      serial: issued.serialNumber,
      disconnected,
    });
    return c.json(
      {
        deviceId: id,
        certificate: issued.certificatePem,
        ca: authority.caPem,
        sha256: issued.sha256,
        serialNumber: issued.serialNumber,
        notAfter: issued.notAfter.toISOString(),
        disconnected,
      },
      200,
    );
  });

  app.openapi(revoke, async (c) => {
    const { id } = c.req.valid("param");
    await deps.repos.devices.setCertificate(id, null);
    const disconnected = await deps.sessions.disconnect(id);
    deps.log.info({ event: "device.certificate_revoked", deviceId: id, disconnected });
    return c.json({ deviceId: id, disconnected }, 200);
  });
  return app;
}

/** Health, the caller's identity and the module signing key. */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { HubContext } from "../../context.js";
import type { ApiApp } from "../app.js";
import { allowDevicesOr } from "../auth.js";

const health = createRoute({
  method: "get",
  path: "/api/v1/health",
  summary: "Liveness and dependencies (no auth)",
  security: [],
  responses: {
    200: {
      description: "Hub status",
      content: {
        "application/json": {
          schema: z.object({
            ok: z.boolean(),
            version: z.string(),
            database: z.string(),
            mqtt: z.object({ connected: z.boolean(), embedded: z.boolean() }),
          }),
        },
      },
    },
  },
});

const whoami = createRoute({
  method: "get",
  path: "/api/v1/whoami",
  summary: "The authenticated caller",
  security: [{ bearer: [] }, { device: [] }],
  responses: {
    200: {
      description: "Caller",
      content: { "application/json": { schema: z.record(z.string(), z.unknown()) } },
    },
  },
});

const signingKey = createRoute({
  method: "get",
  path: "/api/v1/signing-key",
  summary: "The ed25519 public key that module signatures verify against",
  middleware: [allowDevicesOr("viewer")] as const,
  security: [{ bearer: [] }, { device: [] }],
  responses: {
    200: {
      description: "Public key",
      content: {
        "application/json": {
          schema: z.object({
            algorithm: z.literal("ed25519"),
            publicKeyPem: z.string(),
            fingerprint: z.string(),
          }),
        },
      },
    },
  },
});

/** Registers the system routes. */
export function registerSystemRoutes(app: ApiApp, hub: HubContext): void {
  app.openapi(health, (c) =>
    c.json(
      {
        ok: true,
        version: hub.version,
        database: hub.database.dialect,
        mqtt: { connected: hub.link.connected, embedded: hub.config.mqttUrl === undefined },
      },
      200,
    ),
  );
  app.openapi(whoami, (c) => c.json({ ...c.get("principal") }, 200));
  app.openapi(signingKey, (c) =>
    c.json(
      {
        algorithm: "ed25519" as const,
        publicKeyPem: hub.signing.publicKeyPem,
        fingerprint: hub.signing.fingerprint,
      },
      200,
    ),
  );
}

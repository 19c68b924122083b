/** Health, the caller's identity and the module signing key. */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { HubConfig } from "../../config.js";
import type { Database } from "../../db/database.js";
import type { SigningKeys } from "../../keys.js";
import type { HubLink } from "../../mqtt/hub-link.js";
import { allowDevicesOr } from "../auth.js";
import { PrincipalSchema } from "../responses/access.js";
import { type ApiApp, createRouter } from "../router.js";

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
      content: { "application/json": { schema: PrincipalSchema } },
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

/** What the system routes read: the hub's version, database dialect, broker link state and signing key. */
export interface SystemRouteDeps {
  version: string;
  database: Pick<Database, "dialect">;
  link: Pick<HubLink, "connected">;
  config: Pick<HubConfig, "mqttUrl">;
  signing: Pick<SigningKeys, "publicKeyPem" | "fingerprint">;
}

/** The system routes, as a router to mount. */
export function systemRoutes(deps: SystemRouteDeps): ApiApp {
  const app = createRouter();
  app.openapi(health, (c) =>
    c.json(
      {
        ok: true,
        version: deps.version,
        database: deps.database.dialect,
        mqtt: { connected: deps.link.connected, embedded: deps.config.mqttUrl === undefined },
      },
      200,
    ),
  );
  app.openapi(whoami, (c) => c.json(c.get("principal"), 200));
  app.openapi(signingKey, (c) =>
    c.json(
      {
        algorithm: "ed25519" as const,
        publicKeyPem: deps.signing.publicKeyPem,
        fingerprint: deps.signing.fingerprint,
      },
      200,
    ),
  );
  return app;
}

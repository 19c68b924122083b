/**
 * The hub's HTTP application: `/api/v1/*` JSON API with an OpenAPI document, one error shape,
 * bearer-token auth for operators and Basic auth for devices.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import type { HubContext } from "../context.js";
import { type AuthVariables, authenticate } from "./auth.js";
import { errorResponse, handleError } from "./errors.js";
import { registerBlobRoutes } from "./routes/blobs.js";
import { registerDatasetRoutes } from "./routes/datasets.js";
import { registerDeploymentRoutes } from "./routes/deployments.js";
import { registerDeviceRoutes } from "./routes/devices.js";
import { registerModelRoutes } from "./routes/models.js";
import { registerModuleRoutes } from "./routes/modules.js";
import { registerMonitorRoutes } from "./routes/monitors.js";
import { registerProfileRoutes } from "./routes/profiles.js";
import { registerRunRoutes } from "./routes/runs.js";
import { registerSystemRoutes } from "./routes/system.js";
import { registerTelemetryRoutes } from "./routes/telemetry.js";
import { registerTokenRoutes } from "./routes/tokens.js";
import { registerWorkerRoutes } from "./routes/workers.js";

export type ApiEnv = { Variables: AuthVariables };
export type ApiApp = OpenAPIHono<ApiEnv>;

/** Routes that answer without credentials. */
const PUBLIC_PATHS = new Set(["/api/v1/health", "/api/v1/openapi.json"]);

/** Builds the Hono app for a running hub. */
export function createApiApp(hub: HubContext): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        return errorResponse(c, "bad_request", z.prettifyError(result.error), result.error.issues);
      }
    },
  });
  app.onError(handleError(hub.log));
  app.notFound((c) => errorResponse(c, "not_found", `no route ${c.req.method} ${c.req.path}`));

  const auth = authenticate({
    verifyToken: (token) => hub.repos.tokens.verify(token),
    verifyDevice: (id, secret) => hub.repos.devices.verifySecret(id, secret),
  });
  app.use("/api/v1/*", async (c, next) => (PUBLIC_PATHS.has(c.req.path) ? next() : auth(c, next)));

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.openAPIRegistry.registerComponent("securitySchemes", "device", { type: "http", scheme: "basic" });

  registerSystemRoutes(app, hub);
  registerTokenRoutes(app, hub);
  registerDeviceRoutes(app, hub);
  registerProfileRoutes(app, hub);
  registerModelRoutes(app, hub);
  registerModuleRoutes(app, hub);
  registerDeploymentRoutes(app, hub);
  registerTelemetryRoutes(app, hub);
  registerMonitorRoutes(app, hub);
  registerBlobRoutes(app, hub);
  registerDatasetRoutes(app, hub);
  registerRunRoutes(app, hub);
  registerWorkerRoutes(app, hub);

  app.doc("/api/v1/openapi.json", {
    openapi: "3.0.3",
    info: {
      title: "edgefleet hub API",
      version: hub.version,
      description: "Register models, package signed modules and deploy them to device fleets.",
    },
    security: [{ bearer: [] }],
  });
  return app;
}

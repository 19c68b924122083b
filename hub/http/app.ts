/**
 * The hub's HTTP application: `/api/v1/*` JSON API with an OpenAPI document, one error shape,
 * bearer-token auth for operators and Basic auth for devices. Each route module is a router built
 * from the narrow dependencies it declares, mounted here with `app.route`; nothing here owns a
 * socket, so tests drive the app with `app.request()`.
 */
import type { Logger } from "../../lib/log.js";
import type { HubConfig } from "../config.js";
import { fleetRoutes, type LiveChanges, staticConsoleRoutes, streamRoutes } from "../console/index.js";
import type { AuthThrottle } from "../credentials/auth-throttle.js";
import { httpMetrics } from "../metrics/http-metrics.js";
import type { Repositories } from "../repos/index.js";
import { auditTrail } from "./audit-trail.js";
import { authenticate } from "./auth.js";
import { bodyLimits, type UploadLimit } from "./body-limits.js";
import { errorResponse, handleError } from "./errors.js";
import { IDEMPOTENT_ROUTES, idempotency } from "./idempotency.js";
import { inputGuard } from "./input-guard.js";
import { type ApiApp, createRouter } from "./router.js";
import { type AuditRouteDeps, auditRoutes } from "./routes/audit.js";
import { type BlobRouteDeps, blobRoutes } from "./routes/blobs.js";
import { type DatasetRouteDeps, datasetRoutes } from "./routes/datasets.js";
import { type DeploymentRouteDeps, deploymentRoutes } from "./routes/deployments.js";
import { type DeviceCertificateRouteDeps, deviceCertificateRoutes } from "./routes/device-certificates.js";
import { type DeviceRouteDeps, deviceRoutes } from "./routes/devices.js";
import { type MetricsRouteDeps, metricsRoutes } from "./routes/metrics.js";
import { type ModelRouteDeps, modelRoutes } from "./routes/models.js";
import { type ModuleRouteDeps, moduleRoutes } from "./routes/modules.js";
import { type MonitorRouteDeps, monitorRoutes } from "./routes/monitors.js";
import { type PipelineRouteDeps, pipelineRoutes } from "./routes/pipelines.js";
import { profileRoutes } from "./routes/profiles.js";
import { type QuantizeRouteDeps, quantizeRoutes } from "./routes/quantize.js";
import { type RunRouteDeps, runRoutes } from "./routes/runs.js";
import { type SystemRouteDeps, systemRoutes } from "./routes/system.js";
import { type TelemetryRouteDeps, telemetryRoutes } from "./routes/telemetry.js";
import { type TokenRouteDeps, tokenRoutes } from "./routes/tokens.js";
import { type WorkerRouteDeps, workerRoutes } from "./routes/workers.js";

export type { ApiApp, ApiEnv } from "./router.js";

/** Everything the API's route modules need together, plus the log and the credential checks. */
export type ApiDeps = SystemRouteDeps &
  AuditRouteDeps &
  TokenRouteDeps &
  DeviceRouteDeps &
  DeviceCertificateRouteDeps &
  ModelRouteDeps &
  QuantizeRouteDeps &
  ModuleRouteDeps &
  DeploymentRouteDeps &
  TelemetryRouteDeps &
  MonitorRouteDeps &
  BlobRouteDeps &
  DatasetRouteDeps &
  RunRouteDeps &
  PipelineRouteDeps &
  WorkerRouteDeps &
  MetricsRouteDeps & {
    repos: Pick<Repositories, "tokens" | "attemptTokens" | "devices" | "audit" | "fleetView" | "idempotency">;
    config: Pick<HubConfig, "maxJsonBytes" | "maxModelBytes" | "maxDatasetBytes">;
    /** Change notices for the console's live stream. */
    live: LiveChanges;
    log: Logger;
    /** Failed-auth back-off shared with the embedded broker; none turns it off. */
    authThrottle?: AuthThrottle;
  };

/** Routes that answer without credentials. */
const PUBLIC_PATHS = new Set(["/api/v1/health", "/api/v1/openapi.json"]);

/** A run's own data stream, kept with its attempt, and empty claim polls: audited only when refused. */
const QUIET_ROUTES = new Set([
  "POST /api/v1/workers/:id/heartbeat",
  "POST /api/v1/runs/:id/attempts/:n/logs",
  "POST /api/v1/runs/:id/attempts/:n/metrics",
]);
const quietCall = (action: string, status: number) =>
  QUIET_ROUTES.has(action) || (action === "POST /api/v1/workers/:id/claim" && status === 204);

/** The raw-body routes and their configured limits; every other route gets the JSON limit. */
function uploadLimits(config: ApiDeps["config"]): UploadLimit[] {
  const segment = "[^/]+";
  return [
    {
      method: "POST",
      path: new RegExp(`^/api/v1/models/${segment}/versions$`),
      bytes: config.maxModelBytes,
      what: "model",
    },
    {
      method: "POST",
      path: new RegExp(`^/api/v1/runs/${segment}/attempts/${segment}/model$`),
      bytes: config.maxModelBytes,
      what: "model",
    },
    {
      method: "POST",
      path: new RegExp(`^/api/v1/datasets/${segment}/versions$`),
      bytes: config.maxDatasetBytes,
      what: "dataset",
    },
    { method: "POST", path: /^\/api\/v1\/snapshots$/, bytes: config.maxDatasetBytes, what: "snapshot" },
  ];
}

/** Builds the Hono app of a hub from its parts. */
export function createApiApp(deps: ApiDeps): ApiApp {
  const app = createRouter();
  // First, so the time and status of every request count, refusals by auth and limits included.
  app.use("*", httpMetrics({ metrics: deps.metrics }));
  app.onError(handleError(deps.log));
  app.notFound((c) => errorResponse(c, "not_found", `no route ${c.req.method} ${c.req.path}`));

  const auth = authenticate({
    verifyToken: (token) => deps.repos.tokens.verify(token),
    verifyAttemptToken: (token) => deps.repos.attemptTokens.verify(token),
    verifyDevice: (id, secret) => deps.repos.devices.verifySecret(id, secret),
    recentlyVerified: (id, secret) => deps.repos.devices.recentlyVerified(id, secret),
    verifyDeviceCertificate: (id, sha256) => deps.repos.devices.verifyCertificate(id, sha256),
    ...(deps.authThrottle ? { throttle: deps.authThrottle } : {}),
  });
  app.use("/api/v1/*", auditTrail({ audit: deps.repos.audit, log: deps.log, quiet: quietCall }));
  app.use(
    "/api/v1/*",
    bodyLimits({ jsonBytes: deps.config.maxJsonBytes, uploads: uploadLimits(deps.config) }),
  );
  app.use("/api/v1/*", async (c, next) => (PUBLIC_PATHS.has(c.req.path) ? next() : auth(c, next)));
  app.use("/api/v1/*", inputGuard());
  // After auth (a key belongs to its caller) and the input guard (a refused body claims no key).
  app.use(
    "/api/v1/*",
    idempotency({ keys: deps.repos.idempotency, routes: IDEMPOTENT_ROUTES, log: deps.log }),
  );

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.openAPIRegistry.registerComponent("securitySchemes", "device", { type: "http", scheme: "basic" });

  app.route("/", systemRoutes(deps));
  app.route("/", tokenRoutes(deps));
  app.route("/", auditRoutes(deps));
  app.route("/", deviceRoutes(deps));
  app.route("/", deviceCertificateRoutes(deps));
  app.route("/", profileRoutes());
  app.route("/", modelRoutes(deps));
  app.route("/", quantizeRoutes(deps));
  app.route("/", moduleRoutes(deps));
  app.route("/", deploymentRoutes(deps));
  app.route("/", telemetryRoutes(deps));
  app.route("/", monitorRoutes(deps));
  app.route("/", blobRoutes(deps));
  app.route("/", datasetRoutes(deps));
  app.route("/", runRoutes(deps));
  app.route("/", pipelineRoutes(deps));
  app.route("/", workerRoutes(deps));
  app.route("/", fleetRoutes({ fleetView: deps.repos.fleetView }));
  app.route("/", streamRoutes(deps));
  app.route("/", metricsRoutes(deps, auth));
  // The console's files under `/`, outside /api/v1 and its authentication: the page holds no data.
  app.route("/", staticConsoleRoutes({ log: deps.log }));

  app.doc("/api/v1/openapi.json", {
    openapi: "3.0.3",
    info: {
      title: "edgefleet hub API",
      version: deps.version,
      description: "Register models, package signed modules and deploy them to device fleets.",
    },
    security: [{ bearer: [] }],
  });
  return app;
}

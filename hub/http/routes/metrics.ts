/**
 * GET /metrics: the hub's Prometheus exposition (hub/metrics). Outside /api/v1 where scrapers look
 * for it, but behind the same bearer auth: any operator token (viewer is enough) may scrape, since
 * the series carry fleet sizes and rollout states; devices may not.
 */
import type { MiddlewareHandler } from "hono";
import type { HubMetrics } from "../../metrics/hub-metrics.js";
import { requireRole } from "../auth.js";
import { type ApiApp, createRouter } from "../router.js";

/** The scrape reads the exposition; the app's timing middleware records into the same metrics. */
export interface MetricsRouteDeps {
  metrics: Pick<HubMetrics, "text" | "contentType" | "recordHttp">;
}

/** The scrape endpoint, authenticated by `auth` (the API's bearer check). */
export function metricsRoutes(deps: MetricsRouteDeps, auth: MiddlewareHandler): ApiApp {
  const app = createRouter();
  app.get("/metrics", auth, requireRole("viewer"), async (c) =>
    c.body(await deps.metrics.text(), 200, { "content-type": deps.metrics.contentType }),
  );
  return app;
}

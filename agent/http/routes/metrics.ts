/** GET /metrics: Prometheus exposition of the agent's metrics (metrics.ts). */
import { Hono } from "hono";
import type { AgentMetrics } from "../metrics.js";

/** The scrape endpoint. */
export function metricsRoutes(metrics: AgentMetrics): Hono {
  const app = new Hono();
  app.get("/metrics", async (c) =>
    c.body(await metrics.text(), 200, { "content-type": metrics.contentType }),
  );
  return app;
}

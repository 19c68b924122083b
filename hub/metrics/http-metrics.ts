/** Hono middleware that counts and times every hub HTTP request by its route template. */
import type { Context, MiddlewareHandler } from "hono";
import type { HubMetrics } from "./hub-metrics.js";

export interface HttpMetricsOptions {
  metrics: Pick<HubMetrics, "recordHttp">;
}

/** Route label of requests no handler matched (404s): one series, whatever path was asked. */
export const UNMATCHED_ROUTE = "(unmatched)";

/**
 * Times a request from routing to the response and records it under the template of the handler
 * that answered (`/api/v1/devices/:id`), never the raw path.
 *
 * @example app.use("*", httpMetrics({ metrics }))
 */
export function httpMetrics(options: HttpMetricsOptions): MiddlewareHandler {
  const { metrics } = options;
  return async function recordHttpMetrics(c: Context, next) {
    const started = performance.now();
    try {
      await next();
    } finally {
      metrics.recordHttp(c.req.method, routeTemplate(c), c.res.status, (performance.now() - started) / 1000);
    }
  };
}

/** The template of the last matched handler; middleware is registered for every method ("ALL"). */
function routeTemplate(c: Context): string {
  const routes = c.req.matchedRoutes;
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i]!;
    if (route.method !== "ALL") return route.path;
  }
  return UNMATCHED_ROUTE;
}

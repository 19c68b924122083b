/** Telemetry windows as stored (newest first). */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { Repositories, TelemetryWriter } from "../../repos/index.js";
import { requireRole } from "../auth.js";
import { DeviceEventSchema, TelemetryWindowSchema } from "../responses/telemetry.js";
import { type ApiApp, createRouter } from "../router.js";
import { DeviceIdSchema, jsonOk } from "./schemas.js";

const list = createRoute({
  method: "get",
  path: "/api/v1/telemetry",
  summary: "Telemetry windows, filtered by device and module",
  middleware: [requireRole("viewer")] as const,
  request: {
    query: z.object({
      device: DeviceIdSchema.optional(),
      module: z.string().optional(),
      since: z.string().datetime({ offset: true }).optional(),
      limit: z.coerce.number().int().min(1).max(10_000).default(100),
    }),
  },
  responses: jsonOk(z.object({ windows: z.array(TelemetryWindowSchema) }), "Windows"),
});

const events = createRoute({
  method: "get",
  path: "/api/v1/events",
  summary: "Device events (deployment progress, errors), newest first",
  middleware: [requireRole("viewer")] as const,
  request: {
    query: z.object({
      device: DeviceIdSchema.optional(),
      limit: z.coerce.number().int().min(1).max(10_000).default(100),
    }),
  },
  responses: jsonOk(z.object({ events: z.array(DeviceEventSchema) }), "Events"),
});

/** What the telemetry routes use: the stored windows and events, and the writer (flushed before a read). */
export interface TelemetryRouteDeps {
  repos: Pick<Repositories, "telemetry" | "events">;
  telemetry: Pick<TelemetryWriter, "flush">;
}

/** The telemetry and event routes, as a router to mount. */
export function telemetryRoutes(deps: TelemetryRouteDeps): ApiApp {
  const app = createRouter();
  app.openapi(list, async (c) => {
    const q = c.req.valid("query");
    await deps.telemetry.flush();
    const windows = await deps.repos.telemetry.list({
      deviceId: q.device,
      module: q.module,
      since: q.since ? new Date(q.since) : undefined,
      limit: q.limit,
    });
    return c.json({ windows }, 200);
  });
  app.openapi(events, async (c) => {
    const q = c.req.valid("query");
    return c.json({ events: await deps.repos.events.list({ deviceId: q.device, limit: q.limit }) }, 200);
  });
  return app;
}

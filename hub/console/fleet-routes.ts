/**
 * The fleet page's API: a summary of the whole fleet (counts by online state, profile, module
 * version and agent version; profile-check failures) and one bounded page of devices matching the
 * filters, with a total. Both answer from GROUP BYs and keyset paging, so they stay fast at
 * 100,000 devices; the plain `GET /api/v1/devices` keeps returning whole lists for scripts.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { checkProfile } from "../fleet/profile-check.js";
import { requireRole } from "../http/auth.js";
import { FleetPageSchema, FleetSummarySchema } from "../http/responses/fleet.js";
import { type ApiApp, createRouter } from "../http/router.js";
import { DeviceIdSchema, jsonOk, parseTagSelector } from "../http/routes/schemas.js";
import type { FleetFilter, FleetViewRepo } from "../repos/fleet-view.js";

/** The most devices one page may hold; the console asks for 50. */
export const FLEET_PAGE_MAX = 500;

const PageQuery = z.object({
  q: z.string().max(128).optional().describe("substring of the device id or name, any case"),
  selector: z.string().max(1024).optional().describe("tags, k=v,k2=v2: all must match"),
  online: z.enum(["true", "false"]).optional(),
  profile: z
    .string()
    .max(100)
    .optional()
    .describe('declared firmware profile; "none" for devices without one'),
  module: z.string().max(128).optional().describe("devices that report this module"),
  version: z.string().max(64).optional().describe("with module: at this version"),
  limit: z.coerce.number().int().min(1).max(FLEET_PAGE_MAX).default(50),
  after: DeviceIdSchema.optional().describe("the `next` of the previous page"),
});

const summary = createRoute({
  method: "get",
  path: "/api/v1/fleet/summary",
  summary:
    "Fleet counts: online/offline, by profile, module version and agent version; profile-check failures",
  middleware: [requireRole("viewer")] as const,
  responses: jsonOk(FleetSummarySchema, "The summary"),
});

const page = createRoute({
  method: "get",
  path: "/api/v1/fleet/devices",
  summary: "One page of devices (ordered by id) matching the filters, with the total that match",
  middleware: [requireRole("viewer")] as const,
  request: { query: PageQuery },
  responses: jsonOk(FleetPageSchema, "A page of devices"),
});

export interface FleetRouteDeps {
  fleetView: FleetViewRepo;
}

/** The fleet summary and paged device routes. */
export function fleetRoutes(deps: FleetRouteDeps): ApiApp {
  const app = createRouter();

  app.openapi(summary, async (c) => {
    const counts = await deps.fleetView.counts();
    // Few groups however many devices: one check per distinct (profile, detected capabilities).
    const problems = counts.profileGroups
      .map((group) => ({
        profile: group.profile,
        devices: group.devices,
        check: checkProfile({
          profile: group.profile,
          capabilities: group.capabilities,
          agentProfile: group.agentProfile,
        }),
      }))
      .filter((g) => !g.check.ok)
      .map((g) => ({ profile: g.profile, devices: g.devices, problems: g.check.problems }));
    const { profileGroups: _groups, ...rest } = counts;
    return c.json(
      {
        ...rest,
        offline: counts.total - counts.online,
        profileCheck: { failing: problems.reduce((n, p) => n + p.devices, 0), problems },
      },
      200,
    );
  });

  app.openapi(page, async (c) => {
    const query = c.req.valid("query");
    const filter: FleetFilter = {
      ...(query.q ? { text: query.q } : {}),
      ...(query.selector ? { tags: parseTagSelector(query.selector) } : {}),
      ...(query.online ? { online: query.online === "true" } : {}),
      ...(query.profile ? { profile: query.profile === "none" ? null : query.profile } : {}),
      ...(query.module ? { module: query.module } : {}),
      ...(query.module && query.version ? { moduleVersion: query.version } : {}),
    };
    const result = await deps.fleetView.page(filter, {
      limit: query.limit,
      ...(query.after ? { after: query.after } : {}),
    });
    return c.json(
      {
        devices: result.devices.map((d) => ({
          ...d,
          profileCheck: checkProfile({
            profile: d.profile,
            capabilities: d.capabilities,
            agentProfile: d.agentProfile,
          }),
        })),
        total: result.total,
        next: result.next,
      },
      200,
    );
  });
  return app;
}

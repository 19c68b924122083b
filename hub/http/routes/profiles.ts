/** Firmware profiles: the device classes the hub knows (firmware-profiles/profiles/*.json). */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import {
  FirmwareProfileSchema,
  getProfile,
  listProfiles,
  UnknownProfileError,
} from "../../../firmware-profiles/index.js";
import { requireRole } from "../auth.js";
import { ApiError } from "../errors.js";
import { type ApiApp, createRouter } from "../router.js";
import { jsonOk } from "./schemas.js";

const ProfileSchema = FirmwareProfileSchema.meta({ id: "FirmwareProfile" });

const list = createRoute({
  method: "get",
  path: "/api/v1/profiles",
  summary: "List firmware profiles",
  middleware: [requireRole("viewer")] as const,
  responses: jsonOk(z.object({ profiles: z.array(ProfileSchema) }), "Profiles"),
});

const show = createRoute({
  method: "get",
  path: "/api/v1/profiles/{id}",
  summary: "One firmware profile",
  middleware: [requireRole("viewer")] as const,
  request: { params: z.object({ id: z.string().min(1).max(64) }) },
  responses: jsonOk(ProfileSchema, "The profile"),
});

/** The profile, or an ApiError of `code` naming the known ones. */
export function requireKnownProfile(id: string, code: "not_found" | "bad_request" = "bad_request") {
  try {
    return getProfile(id);
  } catch (error) {
    if (error instanceof UnknownProfileError) throw new ApiError(code, error.message);
    throw error;
  }
}

/** The profile routes, as a router to mount. */
export function profileRoutes(): ApiApp {
  const app = createRouter();
  app.openapi(list, (c) => c.json({ profiles: listProfiles() }, 200));
  app.openapi(show, (c) => c.json(requireKnownProfile(c.req.valid("param").id, "not_found"), 200));
  return app;
}

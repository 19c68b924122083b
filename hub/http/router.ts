/**
 * The Hono environment every hub route module shares, and the one way to make a route module's
 * router: with the API's validation hook, so a bad body or query gets the same 400 error shape
 * whichever module it reaches. `createApiApp` mounts the routers with `app.route("/", …)`.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import type { AuthVariables } from "./auth.js";
import { errorResponse } from "./errors.js";

export type ApiEnv = { Variables: AuthVariables };
export type ApiApp = OpenAPIHono<ApiEnv>;

/** A router for one route module; errors it throws reach the app's single onError. */
export function createRouter(): ApiApp {
  return new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        return errorResponse(c, "bad_request", z.prettifyError(result.error), result.error.issues);
      }
    },
  });
}

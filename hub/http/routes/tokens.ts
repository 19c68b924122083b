/** API tokens (admin only): create with a role, list, revoke. */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { Repositories } from "../../repos/index.js";
import { ROLES, requireRole } from "../auth.js";
import { type ApiApp, createRouter } from "../router.js";
import { jsonOk } from "./schemas.js";

const Any = z.record(z.string(), z.unknown());

const list = createRoute({
  method: "get",
  path: "/api/v1/tokens",
  summary: "List tokens (secrets are never shown again)",
  middleware: [requireRole("admin")] as const,
  responses: jsonOk(z.object({ tokens: z.array(Any) }), "Tokens"),
});

const create = createRoute({
  method: "post",
  path: "/api/v1/tokens",
  summary: "Create a token with a role; the secret is returned once",
  middleware: [requireRole("admin")] as const,
  request: {
    body: {
      content: {
        "application/json": { schema: z.object({ name: z.string().min(1).max(128), role: z.enum(ROLES) }) },
      },
      required: true,
    },
  },
  responses: jsonOk(Any, "The token"),
});

const revoke = createRoute({
  method: "delete",
  path: "/api/v1/tokens/{id}",
  summary: "Revoke a token",
  middleware: [requireRole("admin")] as const,
  request: { params: z.object({ id: z.string().uuid() }) },
  responses: jsonOk(z.object({ revoked: z.boolean() }), "Revoked"),
});

/** What the token routes use: the tokens repository. */
export interface TokenRouteDeps {
  repos: Pick<Repositories, "tokens">;
}

/** The token routes, as a router to mount. */
export function tokenRoutes(deps: TokenRouteDeps): ApiApp {
  const app = createRouter();
  app.openapi(list, async (c) => c.json({ tokens: await deps.repos.tokens.list() }, 200));
  app.openapi(create, async (c) => {
    const { name, role } = c.req.valid("json");
    return c.json(await deps.repos.tokens.create(name, role), 200);
  });
  app.openapi(revoke, async (c) => {
    await deps.repos.tokens.revoke(c.req.valid("param").id);
    return c.json({ revoked: true }, 200);
  });
  return app;
}

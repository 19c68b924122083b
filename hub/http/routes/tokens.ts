/** API tokens (admin only): create with a role, list, revoke. */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { Logger } from "../../../lib/log.js";
import type { Repositories } from "../../repos/index.js";
import { type Principal, requireRole, TOKEN_ROLES } from "../auth.js";
import { CreatedTokenSchema, TokenSchema } from "../responses/access.js";
import { type ApiApp, createRouter } from "../router.js";
import { jsonOk } from "./schemas.js";

const list = createRoute({
  method: "get",
  path: "/api/v1/tokens",
  summary: "List tokens (secrets are never shown again)",
  middleware: [requireRole("admin")] as const,
  responses: jsonOk(z.object({ tokens: z.array(TokenSchema) }), "Tokens"),
});

const create = createRoute({
  method: "post",
  path: "/api/v1/tokens",
  summary: "Create a token with a role; the secret is returned once",
  middleware: [requireRole("admin")] as const,
  request: {
    body: {
      content: {
        "application/json": {
          schema: z
            .object({
              name: z.string().min(1).max(128),
              /** `trainer`: the worker protocol only, for `edgefleet trainer` on another machine. */
              role: z.enum(TOKEN_ROLES),
              /** When it stops working; absent (and no expiresInSeconds) never expires. */
              expiresAt: z.iso.datetime({ offset: true }).optional(),
              expiresInSeconds: z
                .number()
                .int()
                .positive()
                .max(10 * 365 * 86_400)
                .optional(),
            })
            .refine((body) => body.expiresAt === undefined || body.expiresInSeconds === undefined, {
              message: "give expiresAt or expiresInSeconds, not both",
            }),
        },
      },
      required: true,
    },
  },
  responses: jsonOk(CreatedTokenSchema, "The token"),
});

const revoke = createRoute({
  method: "delete",
  path: "/api/v1/tokens/{id}",
  summary: "Revoke a token",
  middleware: [requireRole("admin")] as const,
  request: { params: z.object({ id: z.string().uuid() }) },
  responses: jsonOk(z.object({ revoked: z.boolean() }), "Revoked"),
});

/** What the token routes use: the tokens repository and the log. */
export interface TokenRouteDeps {
  repos: Pick<Repositories, "tokens">;
  log: Logger;
}

function tokenActor(c: { get(key: "principal"): Principal | undefined }): string | null {
  const principal = c.get("principal");
  return principal?.kind === "operator" ? `token:${principal.tokenId}` : null;
}

/** The token routes, as a router to mount. */
export function tokenRoutes(deps: TokenRouteDeps): ApiApp {
  const app = createRouter();
  app.openapi(list, async (c) => {
    const now = Date.now();
    const tokens = (await deps.repos.tokens.list()).map((token) => ({
      ...token,
      state: token.revokedAt
        ? ("revoked" as const)
        : token.expiresAt && token.expiresAt.getTime() <= now
          ? ("expired" as const)
          : ("active" as const),
    }));
    return c.json({ tokens }, 200);
  });
  app.openapi(create, async (c) => {
    const { name, role, expiresAt, expiresInSeconds } = c.req.valid("json");
    const expiry =
      expiresAt !== undefined
        ? new Date(expiresAt)
        : expiresInSeconds !== undefined
          ? new Date(Date.now() + expiresInSeconds * 1000)
          : null;
    const created = await deps.repos.tokens.create(name, role, { expiresAt: expiry });
    deps.log.info({
      event: "token.created",
      tokenId: created.id,
      role,
      expiresAt: expiry,
      by: tokenActor(c),
    });
    return c.json(created, 200);
  });
  app.openapi(revoke, async (c) => {
    const { id } = c.req.valid("param");
    await deps.repos.tokens.revoke(id);
    deps.log.info({ event: "token.revoked", tokenId: id, by: tokenActor(c) });
    return c.json({ revoked: true }, 200);
  });
  return app;
}

/** The audit trail (admin only): who did what to which target, newest first, with filters and paging. */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { AUDIT_OUTCOMES } from "../../db/schema/index.js";
import type { Repositories } from "../../repos/index.js";
import { requireRole } from "../auth.js";
import { Timestamp } from "../responses/common.js";
import { type ApiApp, createRouter } from "../router.js";
import { jsonOk } from "./schemas.js";

const AuditEntrySchema = z
  .object({
    id: z.number().int(),
    at: Timestamp,
    actorKind: z.string(),
    actor: z.string().nullable(),
    actorId: z.string().nullable(),
    role: z.string().nullable(),
    action: z.string(),
    target: z.string().nullable(),
    outcome: z.enum(AUDIT_OUTCOMES),
    status: z.number().int().nullable(),
    source: z.string().nullable(),
    details: z
      .record(z.string(), z.unknown())
      .nullable()
      .meta({ description: "what the action carried: its own fields per action (ids, names, counts)" }),
  })
  .meta({ id: "AuditEntry" });

const Instant = z.iso.datetime({ offset: true });

const list = createRoute({
  method: "get",
  path: "/api/v1/audit",
  summary: "The audit trail, newest first: state-changing calls and refused authentications",
  middleware: [requireRole("admin")] as const,
  request: {
    query: z.object({
      actor: z.string().min(1).max(256).optional(),
      action: z.string().min(1).max(256).optional(),
      outcome: z.enum(AUDIT_OUTCOMES).optional(),
      since: Instant.optional(),
      until: Instant.optional(),
      /** The `nextBefore` of the previous page. */
      before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
      limit: z.coerce.number().int().min(1).max(1000).optional(),
    }),
  },
  responses: jsonOk(
    z.object({ entries: z.array(AuditEntrySchema), nextBefore: z.number().int().nullable() }),
    "Audit entries",
  ),
});

/** What the audit route uses: the audit repository. */
export interface AuditRouteDeps {
  repos: Pick<Repositories, "audit">;
}

/** The audit route, as a router to mount. */
export function auditRoutes(deps: AuditRouteDeps): ApiApp {
  const app = createRouter();
  app.openapi(list, async (c) => {
    const query = c.req.valid("query");
    const limit = query.limit ?? 100;
    const rows = await deps.repos.audit.list({
      ...(query.actor ? { actor: query.actor } : {}),
      ...(query.action ? { action: query.action } : {}),
      ...(query.outcome ? { outcome: query.outcome } : {}),
      ...(query.since ? { since: new Date(query.since) } : {}),
      ...(query.until ? { until: new Date(query.until) } : {}),
      ...(query.before ? { before: query.before } : {}),
      limit,
    });
    const entries = rows.map((row) => ({ ...row, at: row.at.toISOString() }));
    const nextBefore = rows.length === limit ? (rows.at(-1)?.id ?? null) : null;
    return c.json({ entries, nextBefore }, 200);
  });
  return app;
}

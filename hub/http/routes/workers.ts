/** Trainer workers: register (upsert), list, claim a run (long poll), heartbeat their leases. */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { Logger } from "../../../lib/log.js";
import type { JobService } from "../../jobs/service.js";
import { MAX_CLAIM_WAIT_MS } from "../../jobs/service.js";
import { workerView } from "../../jobs/views.js";
import type { Repositories } from "../../repos/index.js";
import { requireRole, requireWorker } from "../auth.js";
import { found } from "../errors.js";
import { ClaimResponseSchema, WorkerSchema } from "../responses/runs.js";
import { type ApiApp, createRouter } from "../router.js";
import { ErrorResponses, INT4_MAX, jsonOk } from "./schemas.js";

const WorkerIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$/,
    "letters, digits, '.', '_' or '-', 1-128 long",
  );
const WorkerParam = z.object({ id: WorkerIdSchema });

export const WorkerRegistrationSchema = z.object({
  id: WorkerIdSchema,
  name: z.string().min(1).max(256),
  capabilities: z.object({
    cpus: z.number().positive(),
    memoryMb: z.number().int().nonnegative().max(INT4_MAX),
    gpus: z
      .array(
        z.object({
          index: z.number().int().min(0).max(1024),
          name: z.string().max(256),
          memoryMb: z.number().nonnegative(),
        }),
      )
      .max(64),
    labels: z.record(z.string().min(1).max(64), z.string().max(256)),
    kinds: z
      .array(z.enum(["builtin", "script"]))
      .min(1)
      .max(2),
    version: z.string().max(64),
  }),
});

const register = createRoute({
  method: "post",
  path: "/api/v1/workers",
  summary: "Register or update a trainer worker (its id is its own, stable)",
  middleware: [requireWorker()] as const,
  request: {
    body: { content: { "application/json": { schema: WorkerRegistrationSchema } }, required: true },
  },
  responses: jsonOk(z.object({ worker: WorkerSchema }), "The worker"),
});

const list = createRoute({
  method: "get",
  path: "/api/v1/workers",
  summary: "Trainer workers: idle, busy (and on which run) or offline (no call for 3 heartbeats)",
  middleware: [requireRole("viewer")] as const,
  responses: jsonOk(z.object({ workers: z.array(WorkerSchema) }), "Workers"),
});

const claim = createRoute({
  method: "post",
  path: "/api/v1/workers/{id}/claim",
  summary: "Take the oldest queued run this worker fits (long poll up to waitMs ≤ 25000); 204 when none",
  middleware: [requireWorker()] as const,
  request: {
    params: WorkerParam,
    query: z.object({
      waitMs: z.coerce.number().int().min(0).max(MAX_CLAIM_WAIT_MS).optional(),
      /** GPUs of the worker that no running job holds; runs needing more are not offered. */
      freeGpus: z.coerce.number().int().min(0).max(64).optional(),
    }),
  },
  responses: {
    200: {
      description: "A claim",
      content: { "application/json": { schema: z.object({ claim: ClaimResponseSchema }) } },
    },
    204: { description: "Nothing to do" },
    ...ErrorResponses,
  },
});

const heartbeat = createRoute({
  method: "post",
  path: "/api/v1/workers/{id}/heartbeat",
  summary:
    "Renew the leases of the worker's attempts; `cancel` names runs being cancelled, `lost` attempts no longer the worker's: it stops both",
  middleware: [requireWorker()] as const,
  request: {
    params: WorkerParam,
    body: {
      content: {
        "application/json": {
          schema: z.object({
            runs: z
              .array(z.object({ runId: z.string().min(1).max(64), attempt: z.number().int().positive() }))
              .max(64),
          }),
        },
      },
      required: true,
    },
  },
  responses: jsonOk(
    z.object({ leaseMs: z.number(), cancel: z.array(z.string()), lost: z.array(z.string()) }),
    "Leases renewed",
  ),
});

/** What the worker routes use: workers and runs, the job service's claims and heartbeats, a log. */
export interface WorkerRouteDeps {
  repos: Pick<Repositories, "workers" | "runs">;
  jobs: Pick<JobService, "claim" | "heartbeat" | "heartbeatMs">;
  log: Logger;
}

/** The worker routes, as a router to mount. */
export function workerRoutes(deps: WorkerRouteDeps): ApiApp {
  const app = createRouter();
  const view = async (id: string) => {
    const worker = found(await deps.repos.workers.get(id), `worker ${id}`);
    const running = await deps.repos.runs.runningOn([id]);
    return workerView(worker, {
      now: new Date(),
      heartbeatMs: deps.jobs.heartbeatMs,
      currentRun: running[0]?.runId,
    });
  };

  app.openapi(register, async (c) => {
    const body = c.req.valid("json");
    await deps.repos.workers.upsert(body);
    deps.log.info({ event: "worker.registered", worker: body.id, kinds: body.capabilities.kinds });
    return c.json({ worker: await view(body.id) }, 200);
  });

  app.openapi(list, async (c) => {
    const [workers, running] = await Promise.all([deps.repos.workers.list(), deps.repos.runs.runningOn()]);
    const current = new Map(running.map((r) => [r.workerId, r.runId]));
    const now = new Date();
    return c.json(
      {
        workers: workers.map((w) =>
          workerView(w, { now, heartbeatMs: deps.jobs.heartbeatMs, currentRun: current.get(w.id) }),
        ),
      },
      200,
    );
  });

  app.openapi(claim, async (c) => {
    const { id } = c.req.valid("param");
    const { waitMs, freeGpus } = c.req.valid("query");
    const got = await deps.jobs.claim(id, waitMs ?? 0, c.req.raw.signal, freeGpus);
    if (!got) return c.body(null, 204) as never;
    return c.json({ claim: got }, 200);
  });

  app.openapi(heartbeat, async (c) => {
    const { id } = c.req.valid("param");
    return c.json(await deps.jobs.heartbeat(id, c.req.valid("json").runs), 200);
  });
  return app;
}

/**
 * Training runs: submit, list, show, cancel, read metrics and logs, follow events (SSE); and the
 * per-attempt calls a trainer worker makes while it holds the run's lease (logs, metrics and
 * progress, model upload, complete, fail). A call for an attempt that is no longer current
 * answers 409 `lease_lost`. Semantics: hub/jobs/README.md.
 */
import { createRoute } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { Sha256HexSchema } from "../../../wire/messages.js";
import type { HubConfig } from "../../config.js";
import { RUN_STATUSES } from "../../db/schema/index.js";
import type { RunEvent } from "../../jobs/events.js";
import type { JobService } from "../../jobs/service.js";
import { RunSubmissionSchema } from "../../jobs/spec.js";
import { runView, statusEvent } from "../../jobs/views.js";
import type { Repositories } from "../../repos/index.js";
import { TERMINAL_RUN_STATUSES } from "../../repos/runs.js";
import { requireAttemptWriter, requireRole, requireWorker } from "../auth.js";
import { ApiError, found } from "../errors.js";
import { ExperimentSchema, LogLineSchema, MetricPointSchema, RunSchema } from "../responses/runs.js";
import { type ApiApp, createRouter } from "../router.js";
import { ErrorResponses, INT4_MAX, jsonOk } from "./schemas.js";

const RunParam = z.object({ id: z.string().min(1).max(64) });
const AttemptParam = z.object({ id: z.string().min(1).max(64), n: z.coerce.number().int().positive() });
const noContent = { 204: { description: "Done" }, ...ErrorResponses } as const;
const json = <T extends z.ZodType>(schema: T) => ({
  content: { "application/json": { schema } },
  required: true,
});

const submit = createRoute({
  method: "post",
  path: "/api/v1/runs",
  summary: "Submit a training run; validated against the dataset, recipe and snapshot before it is queued",
  middleware: [requireRole("operator")] as const,
  request: { body: json(RunSubmissionSchema) },
  responses: {
    201: { description: "The queued run", content: { "application/json": { schema: RunSchema } } },
    ...ErrorResponses,
  },
});

const list = createRoute({
  method: "get",
  path: "/api/v1/runs",
  summary: "List runs, newest first",
  middleware: [requireRole("viewer")] as const,
  request: {
    query: z.object({
      experiment: z.string().max(128).optional(),
      status: z.enum(RUN_STATUSES).optional(),
      limit: z.coerce.number().int().positive().max(1000).optional(),
    }),
  },
  responses: jsonOk(z.object({ runs: z.array(RunSchema) }), "Runs"),
});

const show = createRoute({
  method: "get",
  path: "/api/v1/runs/{id}",
  summary: "One run with its attempts, metrics and outputs",
  middleware: [requireRole("viewer")] as const,
  request: { params: RunParam },
  responses: jsonOk(RunSchema, "The run"),
});

const experiments = createRoute({
  method: "get",
  path: "/api/v1/experiments",
  summary: "Experiments (run names) with their run count, last run and best succeeded run",
  middleware: [requireRole("viewer")] as const,
  responses: jsonOk(z.object({ experiments: z.array(ExperimentSchema) }), "Experiments"),
});

const metrics = createRoute({
  method: "get",
  path: "/api/v1/runs/{id}/metrics",
  summary: "A run's metric series by name",
  middleware: [requireRole("viewer")] as const,
  request: { params: RunParam },
  responses: jsonOk(z.object({ series: z.record(z.string(), z.array(MetricPointSchema)) }), "Metric series"),
});

const logs = createRoute({
  method: "get",
  path: "/api/v1/runs/{id}/logs",
  summary: "A run's log lines after a sequence number",
  middleware: [requireRole("viewer")] as const,
  request: {
    params: RunParam,
    query: z.object({
      after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
      limit: z.coerce.number().int().positive().max(1000).optional(),
    }),
  },
  responses: jsonOk(z.object({ lines: z.array(LogLineSchema), next: z.number() }), "Log lines"),
});

const events = createRoute({
  method: "get",
  path: "/api/v1/runs/{id}/events",
  summary: "Server-sent events: status, log, metric, progress; ends after a terminal status",
  middleware: [requireRole("viewer")] as const,
  request: { params: RunParam },
  responses: {
    200: { description: "An SSE stream", content: { "text/event-stream": { schema: z.string() } } },
    ...ErrorResponses,
  },
});

const cancel = createRoute({
  method: "post",
  path: "/api/v1/runs/{id}/cancel",
  summary: "Cancel a run: queued ones at once, running ones once the worker stops (409 when finished)",
  middleware: [requireRole("operator")] as const,
  request: { params: RunParam },
  responses: jsonOk(RunSchema, "The run"),
});

const LogLinesSchema = z.object({
  lines: z
    .array(
      z.object({
        stream: z.enum(["stdout", "stderr", "system"]),
        text: z.string().max(64 * 1024),
        at: z.iso.datetime({ offset: true }).optional(),
      }),
    )
    .max(5000),
});

const MetricPointsSchema = z.object({
  points: z
    .array(
      z.object({
        name: z.string().min(1).max(128),
        value: z.number(),
        step: z.number().int().min(0).max(INT4_MAX),
        at: z.iso.datetime({ offset: true }).optional(),
      }),
    )
    .max(10_000)
    .optional(),
  progress: z
    .object({
      iteration: z.number().int().min(0).max(INT4_MAX),
      of: z.number().int().min(0).max(INT4_MAX),
      phase: z.string().max(64).optional(),
    })
    .passthrough()
    .optional(),
});

const CompleteSchema = z.object({
  onnxSha256: Sha256HexSchema,
  result: z
    .object({
      recipe: z.string().max(64).optional(),
      params: z.record(z.string(), z.unknown()).optional(),
      metrics: z.record(z.string(), z.unknown()).optional(),
      leaderboard: z.array(z.unknown()).optional(),
      history: z.array(z.unknown()).optional(),
      parity: z.record(z.string(), z.unknown()).optional(),
      baseline: z.record(z.string(), z.unknown()).optional(),
      features: z.array(z.object({ name: z.string() }).passthrough()).optional(),
      classes: z.array(z.string()).optional(),
      predictions: z.array(z.number()).optional(),
    })
    .passthrough(),
});

const FailSchema = z.object({
  error: z.object({ code: z.string().min(1).max(64), message: z.string().max(16 * 1024) }),
  retryable: z.boolean(),
});

const attemptLogs = createRoute({
  method: "post",
  path: "/api/v1/runs/{id}/attempts/{n}/logs",
  summary: "Worker: append log lines (batched)",
  middleware: [requireAttemptWriter()] as const,
  request: { params: AttemptParam, body: json(LogLinesSchema) },
  responses: noContent,
});

const attemptMetrics = createRoute({
  method: "post",
  path: "/api/v1/runs/{id}/attempts/{n}/metrics",
  summary: "Worker: append metric points and/or report progress",
  middleware: [requireAttemptWriter()] as const,
  request: { params: AttemptParam, body: json(MetricPointsSchema) },
  responses: noContent,
});

const attemptModel = createRoute({
  method: "post",
  path: "/api/v1/runs/{id}/attempts/{n}/model",
  summary: "Worker: upload the trained ONNX file (stored, registered only on complete)",
  middleware: [requireAttemptWriter()] as const,
  request: {
    params: AttemptParam,
    body: { content: { "application/octet-stream": { schema: z.string().meta({ format: "binary" }) } } },
  },
  responses: {
    201: {
      description: "Stored",
      content: { "application/json": { schema: z.object({ sha256: z.string() }) } },
    },
    ...ErrorResponses,
  },
});

const attemptComplete = createRoute({
  method: "post",
  path: "/api/v1/runs/{id}/attempts/{n}/complete",
  summary: "Worker: finish with a model; the hub checks it on the test split and registers it",
  middleware: [requireWorker()] as const,
  request: { params: AttemptParam, body: json(CompleteSchema) },
  responses: jsonOk(RunSchema, "The run (succeeded, or failed when the hub refused the model)"),
});

const attemptFail = createRoute({
  method: "post",
  path: "/api/v1/runs/{id}/attempts/{n}/fail",
  summary: "Worker: the attempt failed (requeued when retryable and attempts remain)",
  middleware: [requireWorker()] as const,
  request: { params: AttemptParam, body: json(FailSchema) },
  responses: jsonOk(RunSchema, "The run"),
});

/** The ranking metric of a run's test metrics: higher is better (RMSE negated). */
function score(metrics: Record<string, unknown>): number | undefined {
  const test = metrics.test as Record<string, number> | undefined;
  if (!test) return undefined;
  if (typeof test.macroF1 === "number") return test.macroF1;
  if (typeof test.rmse === "number") return -test.rmse;
  return undefined;
}

/** What the run routes use: the runs repository, the job service, the model upload limit. */
export interface RunRouteDeps {
  repos: Pick<Repositories, "runs">;
  jobs: JobService;
  config: Pick<HubConfig, "maxModelBytes">;
}

/** The run routes, as a router to mount. */
export function runRoutes(deps: RunRouteDeps): ApiApp {
  const app = createRouter();
  app.openapi(submit, async (c) => c.json(await deps.jobs.submit(c.req.valid("json")), 201));

  app.openapi(list, async (c) => {
    const query = c.req.valid("query");
    const rows = await deps.repos.runs.list(query);
    return c.json({ runs: rows.map((run) => runView(run, deps.jobs.progress(run.id))) }, 200);
  });

  app.openapi(show, async (c) => c.json(await deps.jobs.view(c.req.valid("param").id), 200));

  app.openapi(experiments, async (c) => {
    // Two queries whatever the number of experiments: the counts, then every succeeded run's metrics.
    const [list, succeeded] = await Promise.all([deps.repos.runs.experiments(), deps.repos.runs.succeeded()]);
    const best = new Map<string, { run: string; metrics: unknown; score: number }>();
    for (const run of succeeded) {
      const s = score(run.metrics);
      const current = best.get(run.experiment);
      if (s !== undefined && (current === undefined || s > current.score))
        best.set(run.experiment, { run: run.id, metrics: run.metrics, score: s });
    }
    const out = list.map((e) => {
      const top = best.get(e.name);
      return {
        name: e.name,
        runs: e.runs,
        lastRunAt: e.lastRunAt.toISOString(),
        ...(top ? { best: { run: top.run, metrics: top.metrics } } : {}),
      };
    });
    return c.json({ experiments: out }, 200);
  });

  app.openapi(metrics, async (c) => {
    const { id } = c.req.valid("param");
    found(await deps.repos.runs.get(id), `run ${id}`);
    const series: Record<string, { step: number; value: number; at: string; attempt: number }[]> = {};
    for (const p of await deps.repos.runs.metrics(id)) {
      const points = series[p.name] ?? [];
      series[p.name] = points;
      points.push({
        step: p.step,
        value: p.value,
        at: p.at.toISOString(),
        attempt: p.attempt,
      });
    }
    return c.json({ series }, 200);
  });

  app.openapi(logs, async (c) => {
    const { id } = c.req.valid("param");
    const { after, limit } = c.req.valid("query");
    found(await deps.repos.runs.get(id), `run ${id}`);
    const lines = await deps.repos.runs.logs(id, { ...(after !== undefined ? { after } : {}), limit });
    return c.json(
      {
        lines: lines.map((l) => ({
          seq: l.seq,
          attempt: l.attempt,
          stream: l.stream,
          text: l.text,
          at: l.at.toISOString(),
        })),
        next: lines.at(-1)?.seq ?? after ?? 0,
      },
      200,
    );
  });

  app.openapi(events, async (c) => {
    const { id } = c.req.valid("param");
    found(await deps.repos.runs.get(id), `run ${id}`);
    return streamSSE(c, async (stream) => {
      const queue: RunEvent[] = [];
      let wake: (() => void) | undefined;
      let aborted = false;
      const unsubscribe = deps.jobs.events.subscribe(id, (event) => {
        queue.push(event);
        wake?.();
      });
      stream.onAbort(() => {
        aborted = true;
        wake?.();
      });
      try {
        // Read after subscribing, so a change in between is in the queue rather than lost.
        const run = await deps.repos.runs.get(id);
        queue.unshift({ type: "status", data: statusEvent(run!) });
        while (!aborted) {
          while (queue.length > 0) {
            const event = queue.shift()!;
            await stream.writeSSE({ event: event.type, data: JSON.stringify(event.data) });
            if (event.type === "status" && TERMINAL_RUN_STATUSES.includes(event.data.status as never)) return;
          }
          const idle = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(true), 15_000);
            wake = () => {
              clearTimeout(timer);
              resolve(false);
            };
          });
          wake = undefined;
          // A comment line keeps proxies from closing a quiet stream.
          if (idle && !aborted) await stream.write(": keep-alive\n\n");
        }
      } finally {
        unsubscribe();
      }
    }) as never;
  });

  app.openapi(cancel, async (c) => c.json(await deps.jobs.cancel(c.req.valid("param").id), 200));

  app.openapi(attemptLogs, async (c) => {
    const { id, n } = c.req.valid("param");
    const { lines } = c.req.valid("json");
    await deps.jobs.appendLogs(
      id,
      n,
      lines.map((l) => ({ stream: l.stream, text: l.text, ...(l.at ? { at: new Date(l.at) } : {}) })),
    );
    return c.body(null, 204) as never;
  });

  app.openapi(attemptMetrics, async (c) => {
    const { id, n } = c.req.valid("param");
    const body = c.req.valid("json");
    await deps.jobs.appendMetrics(
      id,
      n,
      (body.points ?? []).map((p) => ({
        name: p.name,
        value: p.value,
        step: p.step,
        ...(p.at ? { at: new Date(p.at) } : {}),
      })),
      body.progress,
    );
    return c.body(null, 204) as never;
  });

  app.openapi(attemptModel, async (c) => {
    const { id, n } = c.req.valid("param");
    const limit = deps.config.maxModelBytes;
    const declared = Number(c.req.header("content-length") ?? "0");
    if (declared > limit)
      throw new ApiError("payload_too_large", `model is ${declared} bytes; the limit is ${limit}`);
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.byteLength === 0) throw new ApiError("bad_request", "the model body is empty");
    if (bytes.byteLength > limit)
      throw new ApiError("payload_too_large", `model is over the ${limit}-byte limit`);
    return c.json(await deps.jobs.uploadModel(id, n, bytes), 201);
  });

  app.openapi(attemptComplete, async (c) => {
    const { id, n } = c.req.valid("param");
    return c.json(await deps.jobs.complete(id, n, c.req.valid("json") as never), 200);
  });

  app.openapi(attemptFail, async (c) => {
    const { id, n } = c.req.valid("param");
    return c.json(await deps.jobs.fail(id, n, c.req.valid("json")), 200);
  });
  return app;
}

/**
 * Drift monitors (CRUD, evaluate now, history, plot series, retraining cycles), alerts, and
 * packaging a trained model version as a module with an automatic manifest.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { DriftMonitoring } from "../../monitors/index.js";
import { createMonitor, type MonitorHub, updateMonitor } from "../../monitors/service.js";
import { MonitorBodySchema, MonitorPatchSchema } from "../../monitors/spec.js";
import type { CompactColumn } from "../../monitors/verdict.js";
import { PackageTrainedBodySchema, packageTrainedModel } from "../../retraining/package.js";
import type { PackagingDeps } from "../../services/packaging.js";
import { requireRole } from "../auth.js";
import { ApiError, found } from "../errors.js";
import { ModuleSchema } from "../responses/modules.js";
import {
  AlertSchema,
  EvaluateResultSchema,
  MonitorEvaluationSchema,
  MonitorSchema,
  MonitorWithLatestSchema,
  RetrainingCycleSchema,
  RetrainingCycleWithStepsSchema,
  SeriesSchema,
} from "../responses/monitors.js";
import { type ApiApp, createRouter } from "../router.js";
import { jsonOk } from "./schemas.js";

const IdParams = z.object({ id: z.string().min(1).max(128) });
const Limit = z.coerce.number().int().min(1).max(1000).optional();

const routes = {
  list: createRoute({
    method: "get",
    path: "/api/v1/monitors",
    summary: "List drift monitors",
    middleware: [requireRole("viewer")] as const,
    responses: jsonOk(z.object({ monitors: z.array(MonitorSchema) }), "Monitors"),
  }),
  create: createRoute({
    method: "post",
    path: "/api/v1/monitors",
    summary: "Create a drift monitor over a cohort (module version × device selector)",
    middleware: [requireRole("operator")] as const,
    request: { body: { content: { "application/json": { schema: MonitorBodySchema } }, required: true } },
    responses: jsonOk(MonitorSchema, "The monitor"),
  }),
  show: createRoute({
    method: "get",
    path: "/api/v1/monitors/{id}",
    summary: "One monitor (by id or name) with its latest evaluation",
    middleware: [requireRole("viewer")] as const,
    request: { params: IdParams },
    responses: jsonOk(MonitorWithLatestSchema, "The monitor"),
  }),
  update: createRoute({
    method: "patch",
    path: "/api/v1/monitors/{id}",
    summary: "Change a monitor (checked as a whole before it is stored)",
    middleware: [requireRole("operator")] as const,
    request: {
      params: IdParams,
      body: { content: { "application/json": { schema: MonitorPatchSchema } }, required: true },
    },
    responses: jsonOk(MonitorSchema, "The monitor"),
  }),
  remove: createRoute({
    method: "delete",
    path: "/api/v1/monitors/{id}",
    summary: "Delete a monitor with its evaluations, alerts and retraining history",
    middleware: [requireRole("operator")] as const,
    request: { params: IdParams },
    responses: jsonOk(z.object({ deleted: z.boolean() }), "Deleted"),
  }),
  evaluate: createRoute({
    method: "post",
    path: "/api/v1/monitors/{id}/evaluate",
    summary: "Evaluate a monitor now (alerts and retraining follow as on schedule)",
    middleware: [requireRole("operator")] as const,
    request: { params: IdParams },
    responses: jsonOk(EvaluateResultSchema, "The evaluation and the alert it raised, if any"),
  }),
  evaluations: createRoute({
    method: "get",
    path: "/api/v1/monitors/{id}/evaluations",
    summary: "Evaluation history, newest first",
    middleware: [requireRole("viewer")] as const,
    request: { params: IdParams, query: z.object({ limit: Limit }) },
    responses: jsonOk(z.object({ evaluations: z.array(MonitorEvaluationSchema) }), "Evaluations"),
  }),
  series: createRoute({
    method: "get",
    path: "/api/v1/monitors/{id}/series",
    summary:
      "Plot data for one column: per evaluation, tests per scale (statistic, p-value), scores and thresholds; oldest first",
    middleware: [requireRole("viewer")] as const,
    request: { params: IdParams, query: z.object({ column: z.string().min(1), limit: Limit }) },
    responses: jsonOk(SeriesSchema, "The series"),
  }),
  retraining: createRoute({
    method: "get",
    path: "/api/v1/monitors/{id}/retraining",
    summary: "Retraining cycles of a monitor, newest first, each with its steps",
    middleware: [requireRole("viewer")] as const,
    request: { params: IdParams },
    responses: jsonOk(z.object({ cycles: z.array(RetrainingCycleWithStepsSchema) }), "Cycles"),
  }),
  retrain: createRoute({
    method: "post",
    path: "/api/v1/monitors/{id}/retrain",
    summary: "Start a retraining cycle now (action retrain only; 409 while one is open)",
    middleware: [requireRole("operator")] as const,
    request: { params: IdParams },
    responses: jsonOk(RetrainingCycleSchema, "The cycle"),
  }),
  alerts: createRoute({
    method: "get",
    path: "/api/v1/alerts",
    summary: "Alerts, newest first, with webhook delivery state",
    middleware: [requireRole("viewer")] as const,
    request: { query: z.object({ monitor: z.string().min(1).optional(), limit: Limit }) },
    responses: jsonOk(z.object({ alerts: z.array(AlertSchema) }), "Alerts"),
  }),
  package: createRoute({
    method: "post",
    path: "/api/v1/models/{name}/versions/{version}/package",
    summary: "Package a trained model version (number or alias) as a module with an automatic manifest",
    middleware: [requireRole("operator")] as const,
    request: {
      params: z.object({ name: z.string().min(1).max(128), version: z.string().min(1).max(64) }),
      body: { content: { "application/json": { schema: PackageTrainedBodySchema } }, required: false },
    },
    responses: jsonOk(ModuleSchema, "The module"),
  }),
} as const;

function principalName(principal: { kind: string; name?: string; deviceId?: string }): string {
  return principal.kind === "operator" ? principal.name! : principal.deviceId!;
}

/** One series point per evaluation that tested the column. */
function seriesPoint(
  evaluation: {
    at: Date;
    verdict: string;
    rows: number;
    windowEnd: Date | null;
    report: Record<string, unknown>;
  },
  column: string,
) {
  const columns = (evaluation.report.columns ?? []) as CompactColumn[];
  const entry = columns.find((c) => c.name === column);
  if (!entry) return null;
  return {
    at: evaluation.at.toISOString(),
    windowEnd: evaluation.windowEnd?.toISOString() ?? null,
    verdict: evaluation.verdict,
    drifted: entry.drifted,
    fired: entry.fired,
    scales: entry.scales,
    scores: entry.scores,
    thresholds: entry.thresholds,
    exceeded: entry.exceeded,
  };
}

/** What the monitor routes use: monitor CRUD's and packaging's dependencies, and drift monitoring's parts. */
export type MonitorRouteDeps = MonitorHub &
  PackagingDeps & { drift: Pick<DriftMonitoring, "store" | "scheduler" | "retraining"> };

/** The monitor, alert and package routes, as a router to mount. */
export function monitorRoutes(deps: MonitorRouteDeps): ApiApp {
  const app = createRouter();
  const { store } = deps.drift;
  const monitorOf = async (id: string) => found(await store.monitors.get(id), `monitor ${id}`);

  app.openapi(routes.list, async (c) => c.json({ monitors: await store.monitors.list() }, 200));
  app.openapi(routes.create, async (c) =>
    c.json(await createMonitor(deps, c.req.valid("json"), principalName(c.get("principal"))), 200),
  );
  app.openapi(routes.show, async (c) => {
    const monitor = await monitorOf(c.req.valid("param").id);
    const [latest] = await store.monitors.evaluations(monitor.id, { limit: 1 });
    return c.json({ ...monitor, latestEvaluation: latest ?? null }, 200);
  });
  app.openapi(routes.update, async (c) =>
    c.json(await updateMonitor(deps, c.req.valid("param").id, c.req.valid("json")), 200),
  );
  app.openapi(routes.remove, async (c) => {
    const monitor = await monitorOf(c.req.valid("param").id);
    return c.json({ deleted: await store.monitors.remove(monitor.id) }, 200);
  });
  app.openapi(routes.evaluate, async (c) => {
    const monitor = await monitorOf(c.req.valid("param").id);
    return c.json(await deps.drift.scheduler.evaluateNow(monitor), 200);
  });
  app.openapi(routes.evaluations, async (c) => {
    const monitor = await monitorOf(c.req.valid("param").id);
    const limit = c.req.valid("query").limit;
    return c.json({ evaluations: await store.monitors.evaluations(monitor.id, limit ? { limit } : {}) }, 200);
  });
  app.openapi(routes.series, async (c) => {
    const monitor = await monitorOf(c.req.valid("param").id);
    const { column, limit } = c.req.valid("query");
    const evaluations = (await store.monitors.evaluations(monitor.id, { limit: limit ?? 200 })).reverse();
    const points = evaluations.map((e) => seriesPoint(e, column)).filter((p) => p !== null);
    if (points.length === 0 && evaluations.some((e) => e.verdict !== "no-data")) {
      const known = new Set(
        evaluations.flatMap((e) => ((e.report.columns ?? []) as CompactColumn[]).map((col) => col.name)),
      );
      throw new ApiError(
        "bad_request",
        `column "${column}" is not monitored; known: ${[...known].join(", ")}`,
      );
    }
    return c.json({ monitor: monitor.id, column, alpha: monitor.settings.alpha, points }, 200);
  });
  app.openapi(routes.retraining, async (c) => {
    const monitor = await monitorOf(c.req.valid("param").id);
    const cycles = await store.retraining.list(monitor.id);
    const events = await store.retraining.events(monitor.id);
    return c.json(
      { cycles: cycles.map((cycle) => ({ ...cycle, steps: events.filter((e) => e.cycleId === cycle.id) })) },
      200,
    );
  });
  app.openapi(routes.retrain, async (c) => {
    const monitor = await monitorOf(c.req.valid("param").id);
    if (monitor.action.kind !== "retrain")
      throw new ApiError("bad_request", `monitor ${monitor.name} has action alert`);
    const cycle = await deps.drift.retraining.trigger(monitor, null);
    if (!cycle)
      throw new ApiError("conflict", `monitor ${monitor.name} already has a retraining cycle in progress`);
    return c.json(cycle, 200);
  });
  app.openapi(routes.alerts, async (c) => {
    const { monitor: ref, limit } = c.req.valid("query");
    const monitor = ref ? await monitorOf(ref) : null;
    return c.json(
      {
        alerts: await store.monitors.alerts({
          ...(monitor ? { monitorId: monitor.id } : {}),
          ...(limit ? { limit } : {}),
        }),
      },
      200,
    );
  });
  app.openapi(routes.package, async (c) => {
    const { name, version } = c.req.valid("param");
    const body = (await c.req.json().catch(() => ({}))) as unknown;
    const parsed = PackageTrainedBodySchema.parse(body ?? {});
    return c.json(await packageTrainedModel(deps, name, version, parsed), 200);
  });
  return app;
}

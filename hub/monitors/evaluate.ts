/**
 * One evaluation of one monitor: the module version's monitoring spec, the cohort's devices, each
 * device's newest windows merged per scale, a drift report per scale, one Holm verdict, stored with
 * the monitor's next run. An alert is raised on the way into drift (ok/no-data → drift), not on
 * every evaluation that stays drifted — except for a retrain monitor with no cycle open whose last
 * cycle ended `retryAfterMs` ago or more (rejected, failed, rolled back, or a winner that still
 * drifts): it raises a "still drifting" alert, which starts another cycle, so a rollback does not
 * leave the loop stuck until someone starts a cycle by hand.
 */

import { NotFoundError, ValidationError } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import type { DeploymentSelector } from "../db/schema/deployments.js";
import type { Repositories } from "../repos/index.js";
import type { Alert, Monitor, MonitorEvaluation } from "../repos/monitors.js";
import { aggregateScales } from "./aggregate.js";
import { driftReport, type MonitoringSpec } from "./drift-lib.js";
import { MONITOR_DEFAULTS } from "./spec.js";
import type { DriftStore } from "./store.js";
import { verdictOf } from "./verdict.js";

export interface EvaluateDeps {
  repos: Pick<Repositories, "modules" | "devices">;
  store: DriftStore;
  log: Logger;
  now: () => Date;
}

/** A module version and the monitoring spec in its manifest; 404 without the version, 400 without a spec. */
export async function monitoredModule(
  repos: Pick<Repositories, "modules">,
  module: string,
  version: string,
): Promise<{ manifest: unknown; spec: MonitoringSpec }> {
  const record = await repos.modules.get(module, version);
  if (!record)
    throw new NotFoundError("module", `${module}@${version}`, `module ${module}@${version} not found`);
  const spec = (record.manifest as { monitoring?: MonitoringSpec }).monitoring;
  if (!spec) {
    throw new ValidationError(
      `module ${module}@${version} has no monitoring section in its manifest: package it from a trained model version (POST /api/v1/models/{name}/versions/{v}/package) or add one`,
    );
  }
  return { manifest: record.manifest, spec };
}

/** The monitoring spec in a module version's manifest (see monitoredModule). */
export async function monitoringSpecOf(
  repos: Pick<Repositories, "modules">,
  module: string,
  version: string,
): Promise<MonitoringSpec> {
  return (await monitoredModule(repos, module, version)).spec;
}

/** Device ids a selector matches now (ids and tags both apply when both are given). */
export async function cohortDevices(
  repos: Pick<Repositories, "devices">,
  selector: DeploymentSelector,
): Promise<string[]> {
  const devices = await repos.devices.list({
    ...(selector.deviceIds ? { ids: selector.deviceIds } : {}),
    ...(selector.tags ? { tags: selector.tags } : {}),
  });
  return devices.map((d) => d.id).sort();
}

/** Evaluates a monitor now and stores the result; returns the evaluation and the alert it raised, if any. */
export async function evaluateMonitor(
  deps: EvaluateDeps,
  monitor: Monitor,
): Promise<{ evaluation: MonitorEvaluation; alert: Alert | null; fired: boolean }> {
  const { settings } = monitor;
  const spec = await monitoringSpecOf(deps.repos, monitor.module, monitor.moduleVersion);
  const deviceIds = await cohortDevices(deps.repos, monitor.selector);
  const rows = await deps.store.data.cohortSummaries({
    module: monitor.module,
    moduleVersion: monitor.moduleVersion,
    deviceIds,
    perDevice: Math.max(...settings.scales),
  });
  const { scales, foreignBaseline } = aggregateScales(rows, settings.scales, spec.baselineId);
  // The smallest scale is the report's "current"; the wider ones join the same Holm family.
  const [first, ...wider] = scales.filter((s) => s.summary !== null);
  const fixed = settings.thresholds;
  const report =
    first?.summary && scales.some((s) => s.rows >= settings.minRows)
      ? driftReport(spec, first.summary, {
          alpha: settings.alpha,
          minRows: settings.minRows,
          scales: wider.map((s) => ({ windows: s.scale, summary: s.summary! })),
          ...(fixed
            ? {
                thresholds: Object.fromEntries(
                  [...spec.columns, ...spec.outputs].map((c) => [
                    c.name,
                    { js: Number.POSITIVE_INFINITY, psi: Number.POSITIVE_INFINITY, ...fixed },
                  ]),
                ),
              }
            : {}),
        })
      : null;
  const verdict = verdictOf(report, settings);
  const at = deps.now();
  const newest = scales.reduce<Date | null>(
    (latest, s) => (s.windowEnd && (!latest || s.windowEnd > latest) ? s.windowEnd : latest),
    null,
  );
  const { evaluation, previousState } = await deps.store.monitors.recordEvaluation(
    {
      monitorId: monitor.id,
      moduleVersion: monitor.moduleVersion,
      verdict: verdict.verdict,
      rows: scales[0]?.rows ?? 0,
      devices: deviceIds.length,
      windowEnd: newest,
      report: {
        ...verdict,
        baselineId: spec.baselineId,
        foreignBaseline,
        scales: scales.map((s) => ({
          windows: s.scale,
          devices: s.devices,
          summaries: s.windows,
          rows: s.rows,
        })),
      },
    },
    new Date(at.getTime() + monitor.intervalMs),
  );
  deps.log.info({
    event: "monitor.evaluated",
    monitorId: monitor.id,
    monitor: monitor.name,
    verdict: verdict.verdict,
    fired: verdict.fired.length,
    rows: evaluation.rows,
  });
  if (verdict.verdict !== "drift") return { evaluation, alert: null, fired: false };
  const retry = previousState === "drift" ? await retryOf(deps.store, monitor, at) : undefined;
  if (previousState === "drift" && retry === undefined) return { evaluation, alert: null, fired: false };
  const firedText = verdict.fired
    .slice(0, 5)
    .map(
      (f) =>
        `${f.column} (${f.test} p=${f.pValue.toPrecision(2)} over ${f.windows} window${f.windows === 1 ? "" : "s"})`,
    )
    .join(", ");
  const alert = await deps.store.monitors.createAlert({
    monitorId: monitor.id,
    evaluationId: evaluation.id,
    at,
    message: `${retry ? "still drifting" : "drift"} in ${monitor.module}@${monitor.moduleVersion} (${monitor.name})${retry ? ` ${retry.message}` : ""}: ${firedText}`,
    details: {
      monitor: monitor.name,
      module: monitor.module,
      version: monitor.moduleVersion,
      fired: verdict.fired,
      firedScales: verdict.firedScales,
      rows: evaluation.rows,
      devices: deviceIds.length,
      action: monitor.action.kind,
      ...(retry ? { retryOf: retry.cycleId } : {}),
    },
    webhookStatus: monitor.webhook ? "pending" : "none",
  });
  deps.log.warn({ event: "monitor.alert", monitorId: monitor.id, alertId: alert.id, message: alert.message });
  return { evaluation, alert, fired: true };
}

/**
 * For a retrain monitor that stays in drift: the cycle to retry when none is open and the last one
 * ended at least `retryAfterMs` ago (or none ever ran, say the action became retrain while in drift).
 */
async function retryOf(
  store: DriftStore,
  monitor: Monitor,
  at: Date,
): Promise<{ cycleId: string | null; message: string } | undefined> {
  if (monitor.action.kind !== "retrain") return undefined;
  const last = await store.retraining.latest(monitor.id);
  if (last === null) return { cycleId: null, message: "and no retraining cycle ran" };
  if (last.finishedAt === null) return undefined;
  const waitMs = monitor.action.retrain.retryAfterMs ?? MONITOR_DEFAULTS.retryAfterMs;
  const sinceMs = at.getTime() - last.finishedAt.getTime();
  if (sinceMs < waitMs) return undefined;
  return {
    cycleId: last.id,
    message: `${Math.round(sinceMs / 60_000)} min after retraining cycle ${last.id} ended ${last.status}`,
  };
}

/**
 * Monitor CRUD with every check done before anything is written: the module version exists and
 * carries a monitoring section, the selector matches devices, and for action retrain the dataset
 * exists, the module came from a trained model and the module's samples are allowed. A refused
 * definition leaves no row behind.
 */

import { found, ValidationError } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import type { Repositories } from "../repos/index.js";
import type { Monitor, MonitorPatch } from "../repos/monitors.js";
import { findChampion, moduleSource } from "../retraining/champion.js";
import { cohortDevices, monitoredModule } from "./evaluate.js";
import { actionOf, type MonitorBody, type MonitorPatchBody, settingsOf } from "./spec.js";
import type { DriftStore } from "./store.js";
import type { WebhookTargets } from "./webhook-target.js";

/** What monitor CRUD uses: the repositories a definition is checked against, the drift store, a log. */
export interface MonitorHub {
  repos: Pick<Repositories, "modules" | "devices" | "datasets" | "models">;
  drift: { store: DriftStore; webhookTargets: Pick<WebhookTargets, "checkUrl"> };
  log: Logger;
}

async function checkDefinition(
  hub: MonitorHub,
  definition: Pick<MonitorBody, "module" | "version" | "selector" | "action">,
): Promise<void> {
  const { manifest, spec } = await monitoredModule(hub.repos, definition.module, definition.version);
  const devices = await cohortDevices(hub.repos, definition.selector);
  if (devices.length === 0) throw new ValidationError("the selector matches no devices");
  if (definition.action.kind !== "retrain") return;
  const retrain = definition.action.retrain;
  if (!(await hub.repos.datasets.resolve(retrain.dataset, "latest"))) {
    throw new ValidationError(
      `dataset ${retrain.dataset} not found: upload it before asking to retrain on it`,
    );
  }
  if (!spec.samples?.allowed) {
    throw new ValidationError(
      `module ${definition.module}@${definition.version} does not allow raw samples (monitoring.samples.allowed), which retraining collects; package it with samples allowed or use action alert`,
    );
  }
  const source = moduleSource(manifest);
  const model = retrain.model ?? source?.model;
  if (!model) throw new ValidationError("retrain.model is required: the module names no source model");
  const champion = await findChampion(hub.repos, model, source);
  if (!champion?.training) {
    throw new ValidationError(
      `model ${model} has no trained champion (alias "champion" or the module's source version, with training info) to retrain from`,
    );
  }
}

/** Creates a monitor after checking it; 400/404/409 leave nothing behind. */
export async function createMonitor(hub: MonitorHub, body: MonitorBody, createdBy: string): Promise<Monitor> {
  await checkDefinition(hub, body);
  if (body.webhook) await hub.drift.webhookTargets.checkUrl(body.webhook.url);
  const monitor = await hub.drift.store.monitors.create({
    name: body.name,
    module: body.module,
    moduleVersion: body.version,
    selector: body.selector,
    settings: settingsOf(body),
    intervalMs: body.intervalMs,
    action: actionOf(body.action),
    webhook: body.webhook ?? null,
    enabled: body.enabled,
    createdBy,
  });
  hub.log.info({
    event: "monitor.created",
    monitorId: monitor.id,
    name: monitor.name,
    module: monitor.module,
  });
  return monitor;
}

/** Applies a patch after checking the result as a whole. */
export async function updateMonitor(
  hub: MonitorHub,
  idOrName: string,
  patch: MonitorPatchBody,
): Promise<Monitor> {
  const current = found(await hub.drift.store.monitors.get(idOrName), `monitor ${idOrName}`);
  const merged = {
    module: patch.module ?? current.module,
    version: patch.version ?? current.moduleVersion,
    selector: patch.selector ?? current.selector,
    action: patch.action ?? current.action,
  };
  await checkDefinition(hub, merged as Pick<MonitorBody, "module" | "version" | "selector" | "action">);
  if (patch.webhook) await hub.drift.webhookTargets.checkUrl(patch.webhook.url);
  const settings = settingsOf({
    alpha: patch.alpha ?? current.settings.alpha,
    scales: patch.scales ?? current.settings.scales,
    minRows: patch.minRows ?? current.settings.minRows,
    includeOutputs: patch.includeOutputs ?? current.settings.includeOutputs,
    thresholds: patch.thresholds ?? current.settings.thresholds,
  });
  const change: MonitorPatch = {
    module: merged.module,
    moduleVersion: merged.version,
    selector: merged.selector,
    settings,
    ...(patch.intervalMs !== undefined ? { intervalMs: patch.intervalMs } : {}),
    ...(patch.action ? { action: actionOf(patch.action) } : {}),
    ...(patch.webhook !== undefined ? { webhook: patch.webhook } : {}),
    ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
  };
  return found(await hub.drift.store.monitors.update(current.id, change), `monitor ${idOrName}`);
}

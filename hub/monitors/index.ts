/**
 * Drift monitoring as one part of a running hub: the store, the scheduler that evaluates due
 * monitors, the alert notifier (MQTT + webhook) and the retraining driver. `createDriftMonitoring`
 * builds them, `start` starts them once the hub is up, `close` stops them in reverse order.
 */

import type { Clock } from "../../lib/clock.js";
import type { Logger } from "../../lib/log.js";
import type { Db } from "../db/database.js";
import type { HubLink } from "../mqtt/hub-link.js";
import { RetrainingDriver, type RetrainingHub } from "../retraining/driver.js";
import { AlertNotifier, type WEBHOOK_DEFAULTS } from "./notify.js";
import { MonitorScheduler } from "./scheduler.js";
import { createDriftStore, type DriftStore } from "./store.js";
import { WebhookTargets } from "./webhook-target.js";

export interface DriftMonitoring {
  store: DriftStore;
  scheduler: MonitorScheduler;
  notifier: AlertNotifier;
  retraining: RetrainingDriver;
  /** Which addresses webhooks may reach (checked at definition and at every send). */
  webhookTargets: WebhookTargets;
  /** Starts the scheduler, the retraining driver and pending webhook deliveries. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface DriftMonitoringOptions {
  clock: Clock;
  log: Logger;
  /** Scheduler tick (ms); tests shorten it. */
  tickMs?: number;
  /** Retraining driver tick (ms). */
  retrainingTickMs?: number;
  webhook?: Partial<typeof WEBHOOK_DEFAULTS>;
  /** CIDRs webhooks may reach although private, loopback or link-local (EDGEFLEET_WEBHOOK_ALLOW). */
  webhookAllow?: readonly string[];
}

/** What drift monitoring is built from: the database, the hub parts the retraining loop steps through, and runs. */
export interface DriftMonitoringDeps extends DriftMonitoringOptions {
  db: Db;
  hub: RetrainingHub & { link: Pick<HubLink, "publishCommand" | "publishAlert"> };
  /** Submits a training run in process (the job service's submit). */
  submitRun(body: unknown): Promise<{ id: string }>;
}

/** Builds drift monitoring; nothing runs until `start()`. */
export function createDriftMonitoring(deps: DriftMonitoringDeps): DriftMonitoring {
  const { clock, log, hub } = deps;
  const store = createDriftStore(deps.db, { now: () => clock.now() });
  const webhookTargets = new WebhookTargets(deps.webhookAllow ?? []);
  const notifier = new AlertNotifier({
    link: hub.link,
    targets: webhookTargets,
    monitors: store.monitors,
    clock,
    log: log.child({ part: "alerts" }),
    ...(deps.webhook ? { webhook: deps.webhook } : {}),
  });
  const retraining = new RetrainingDriver({
    hub,
    store,
    clock,
    log: log.child({ part: "retraining" }),
    submitRun: deps.submitRun,
    ...(deps.retrainingTickMs !== undefined ? { tickMs: deps.retrainingTickMs } : {}),
  });
  const scheduler = new MonitorScheduler({
    repos: hub.repos,
    store,
    clock,
    log: log.child({ part: "monitors" }),
    ...(deps.tickMs !== undefined ? { tickMs: deps.tickMs } : {}),
    onAlert(alert, monitor) {
      notifier.notify(alert, monitor);
      if (monitor.action.kind === "retrain") {
        retraining
          .trigger(monitor, alert.id)
          .catch((error: unknown) =>
            log.error({ event: "retraining.trigger_failed", monitorId: monitor.id, err: error }),
          );
      }
    },
  });
  let started = false;
  return {
    store,
    scheduler,
    notifier,
    retraining,
    webhookTargets,
    async start() {
      started = true;
      await notifier.resume();
      scheduler.start();
      retraining.start();
    },
    async close() {
      // A hub whose start-up failed before this part started has nothing here to stop or hand back.
      if (!started) return;
      await scheduler.close();
      await retraining.close();
      await notifier.close();
    },
  };
}

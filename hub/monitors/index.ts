/**
 * Drift monitoring as one part of a running hub: the store, the scheduler that evaluates due
 * monitors, the alert notifier (MQTT + webhook) and the retraining driver. `createDriftMonitoring`
 * builds them, `start` starts them once the hub is up, `close` stops them in reverse order.
 */
import type { Logger } from "../../lib/log.js";
import type { HubContext } from "../context.js";
import type { Db } from "../db/database.js";
import { RetrainingDriver } from "../retraining/driver.js";
import type { Clock } from "../rollouts/clock.js";
import { AlertNotifier, type WEBHOOK_DEFAULTS } from "./notify.js";
import { MonitorScheduler } from "./scheduler.js";
import { createDriftStore, type DriftStore } from "./store.js";

export interface DriftMonitoring {
  store: DriftStore;
  scheduler: MonitorScheduler;
  notifier: AlertNotifier;
  retraining: RetrainingDriver;
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
}

/**
 * Builds drift monitoring for a hub being assembled: `hub()` is read only once `start()` runs (the
 * retraining driver packages and deploys through the full context, which includes this object).
 */
export function createDriftMonitoring(
  hub: () => HubContext,
  db: Db,
  options: DriftMonitoringOptions,
): DriftMonitoring {
  const { clock, log } = options;
  const store = createDriftStore(db, { now: () => clock.now() });
  let parts:
    | { scheduler: MonitorScheduler; notifier: AlertNotifier; retraining: RetrainingDriver }
    | undefined;
  const need = () => {
    if (!parts) throw new Error("drift monitoring is not started");
    return parts;
  };
  return {
    store,
    get scheduler() {
      return need().scheduler;
    },
    get notifier() {
      return need().notifier;
    },
    get retraining() {
      return need().retraining;
    },
    async start() {
      const context = hub();
      const notifier = new AlertNotifier({
        link: context.link,
        monitors: store.monitors,
        clock,
        log: log.child({ part: "alerts" }),
        ...(options.webhook ? { webhook: options.webhook } : {}),
      });
      const retraining = new RetrainingDriver({
        hub: context,
        store,
        clock,
        log: log.child({ part: "retraining" }),
        submitRun: async (body) => ({ id: String((await context.jobs.submit(body)).id) }),
        ...(options.retrainingTickMs !== undefined ? { tickMs: options.retrainingTickMs } : {}),
      });
      const scheduler = new MonitorScheduler({
        repos: context.repos,
        store,
        clock,
        log: log.child({ part: "monitors" }),
        ...(options.tickMs !== undefined ? { tickMs: options.tickMs } : {}),
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
      parts = { scheduler, notifier, retraining };
      await notifier.resume();
      scheduler.start();
      retraining.start();
    },
    async close() {
      if (!parts) return;
      await parts.scheduler.close();
      await parts.retraining.close();
      await parts.notifier.close();
    },
  };
}

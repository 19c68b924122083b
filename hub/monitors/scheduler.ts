/**
 * Runs due monitors: every `tickMs` it evaluates each enabled monitor whose `nextRunAt` has passed,
 * one at a time (evaluations are cheap: bin counts), and hands alerts to `onAlert` without waiting
 * for their delivery. `evaluateNow` (the API's "evaluate now") goes through the same serial chain,
 * so a monitor is never evaluated twice at once by one hub. A failing evaluation (say the module
 * version was deleted) is logged and retried at the next interval, never in a tight loop.
 */

import type { Clock, TimerHandle } from "../../lib/clock.js";
import type { Logger } from "../../lib/log.js";
import type { Alert, Monitor, MonitorEvaluation } from "../repos/monitors.js";
import { type EvaluateDeps, evaluateMonitor } from "./evaluate.js";

export interface SchedulerOptions extends Omit<EvaluateDeps, "now"> {
  clock: Clock;
  log: Logger;
  /** How often due monitors are looked for (ms). Default 1000. */
  tickMs?: number;
  /** Called with every alert raised; must not throw or block. */
  onAlert: (alert: Alert, monitor: Monitor) => void;
}

/** Periodic evaluation of due monitors. */
export class MonitorScheduler {
  readonly #options: SchedulerOptions;
  readonly #tickMs: number;
  #timer: TimerHandle | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#tickMs = Math.max(10, options.tickMs ?? 1_000);
  }

  start(): void {
    this.#arm();
  }

  /** Evaluates one monitor now (serialised with the periodic runs). */
  evaluateNow(monitor: Monitor): Promise<{ evaluation: MonitorEvaluation; alert: Alert | null }> {
    return this.#serial(() => this.#evaluate(monitor));
  }

  /** Stops the timer and waits for the evaluation in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#timer?.cancel();
    await this.#chain.catch(() => undefined);
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#chain.catch(() => undefined).then(work);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #arm(): void {
    if (this.#closed) return;
    this.#timer = this.#options.clock.setTimer(this.#tickMs, () => {
      void this.#serial(() => this.#tick()).finally(() => this.#arm());
    });
  }

  async #tick(): Promise<void> {
    const { store, log, clock } = this.#options;
    let due: Monitor[];
    try {
      due = await store.monitors.listDue(clock.now());
    } catch (error) {
      log.error({ event: "monitor.scheduler_failed", err: error });
      return;
    }
    for (const monitor of due) {
      if (this.#closed) return;
      try {
        await this.#evaluate(monitor);
      } catch (error) {
        log.warn({
          event: "monitor.evaluation_failed",
          monitorId: monitor.id,
          error: (error as Error).message,
        });
        await store.monitors
          .postpone(monitor.id, new Date(clock.now().getTime() + monitor.intervalMs))
          .catch(() => undefined);
      }
    }
  }

  async #evaluate(monitor: Monitor) {
    const { clock } = this.#options;
    const result = await evaluateMonitor({ ...this.#options, now: () => clock.now() }, monitor);
    if (result.alert) {
      try {
        this.#options.onAlert(result.alert, monitor);
      } catch (error) {
        this.#options.log.error({ event: "monitor.on_alert_failed", err: error });
      }
    }
    return { evaluation: result.evaluation, alert: result.alert };
  }
}

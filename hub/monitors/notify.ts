/**
 * Alert delivery: an MQTT message on `edgefleet/v1/alerts/{monitorId}` through the hub link, and a
 * webhook POST with retries and exponential backoff. Delivery runs beside the scheduler (nothing
 * here is awaited by an evaluation); each attempt's outcome is stored on the alert, so pending
 * webhooks resume after a hub restart. Receivers may get a delivery twice (a crash after the POST,
 * before the write): the `x-edgefleet-alert-id` header lets them drop the repeat.
 */

import type { Clock, TimerHandle } from "../../lib/clock.js";
import type { Logger } from "../../lib/log.js";
import type { HubLink } from "../mqtt/hub-link.js";
import type { Alert, Monitor, MonitorRepo } from "../repos/monitors.js";
import { postWebhook } from "./webhook-post.js";
import type { WebhookTargets } from "./webhook-target.js";

export const WEBHOOK_DEFAULTS = {
  /** Attempts per alert (count). */
  attempts: 6,
  /** First retry delay (ms); doubles per attempt up to maxBackoffMs. */
  initialBackoffMs: 1_000,
  maxBackoffMs: 60_000,
  /** One POST may take this long (ms). */
  timeoutMs: 10_000,
} as const;

export interface NotifierOptions {
  link: Pick<HubLink, "publishAlert">;
  monitors: MonitorRepo;
  clock: Clock;
  log: Logger;
  /** Which addresses a POST may connect to, checked on the resolved address of every attempt. */
  targets: WebhookTargets;
  webhook?: Partial<typeof WEBHOOK_DEFAULTS>;
}

/** The JSON body of the webhook and of the MQTT message. */
export function alertMessage(
  alert: Alert,
  monitor: Pick<Monitor, "id" | "name" | "module" | "moduleVersion">,
) {
  return {
    kind: "edgefleet.alert",
    id: alert.id,
    at: alert.at.toISOString(),
    monitor: { id: monitor.id, name: monitor.name, module: monitor.module, version: monitor.moduleVersion },
    message: alert.message,
    details: alert.details,
  };
}

/** Sends alerts over MQTT and webhooks; never throws into the caller. */
export class AlertNotifier {
  readonly #options: NotifierOptions;
  readonly #settings: typeof WEBHOOK_DEFAULTS;
  readonly #timers = new Set<TimerHandle>();
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(options: NotifierOptions) {
    this.#options = options;
    this.#settings = { ...WEBHOOK_DEFAULTS, ...options.webhook };
  }

  /** Publishes the alert and starts its webhook delivery; returns at once. */
  notify(alert: Alert, monitor: Monitor): void {
    const message = alertMessage(alert, monitor);
    this.#track(
      this.#options.link
        .publishAlert(monitor.id, message)
        .catch((error: unknown) =>
          this.#options.log.warn({ event: "alert.mqtt_failed", alertId: alert.id, err: error }),
        ),
    );
    if (monitor.webhook) this.#deliver(alert.id, monitor.webhook.url, message, alert.webhookAttempts);
  }

  /** Re-queues webhooks left pending by a previous run (call once at start). */
  async resume(): Promise<number> {
    const pending = await this.#options.monitors.pendingWebhooks();
    for (const alert of pending) {
      const monitor = await this.#options.monitors.get(alert.monitorId);
      if (!monitor?.webhook) {
        await this.#options.monitors.setWebhookState(alert.id, {
          status: "failed",
          attempts: alert.webhookAttempts,
          error: "the monitor no longer has a webhook",
        });
        continue;
      }
      this.#deliver(alert.id, monitor.webhook.url, alertMessage(alert, monitor), alert.webhookAttempts);
    }
    return pending.length;
  }

  /** Stops retries and waits for deliveries in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) timer.cancel();
    this.#timers.clear();
    await Promise.all([...this.#inFlight]);
  }

  #track(promise: Promise<void>): void {
    this.#inFlight.add(promise);
    void promise.finally(() => this.#inFlight.delete(promise));
  }

  #deliver(alertId: string, url: string, message: unknown, attemptsSoFar: number): void {
    if (this.#closed) return;
    this.#track(this.#attempt(alertId, url, message, attemptsSoFar + 1));
  }

  async #attempt(alertId: string, url: string, message: unknown, attempt: number): Promise<void> {
    const { monitors, log, clock } = this.#options;
    let error: string | null = null;
    try {
      const status = await postWebhook({
        url,
        headers: { "content-type": "application/json", "x-edgefleet-alert-id": alertId },
        body: JSON.stringify(message),
        timeoutMs: this.#settings.timeoutMs,
        targets: this.#options.targets,
      });
      if (status < 200 || status > 299) error = `HTTP ${status}`;
    } catch (cause) {
      error = (cause as Error).message;
    }
    try {
      if (error === null) {
        await monitors.setWebhookState(alertId, { status: "delivered", attempts: attempt, at: clock.now() });
        log.info({ event: "alert.webhook_delivered", alertId, attempt });
        return;
      }
      const last = attempt >= this.#settings.attempts;
      await monitors.setWebhookState(alertId, {
        status: last ? "failed" : "pending",
        attempts: attempt,
        error,
      });
      log.warn({ event: last ? "alert.webhook_failed" : "alert.webhook_retry", alertId, attempt, error });
      if (last || this.#closed) return;
      const delay = Math.min(
        this.#settings.maxBackoffMs,
        this.#settings.initialBackoffMs * 2 ** (attempt - 1),
      );
      const timer = clock.setTimer(delay, () => {
        this.#timers.delete(timer);
        this.#deliver(alertId, url, message, attempt);
      });
      this.#timers.add(timer);
    } catch (cause) {
      log.error({ event: "alert.webhook_state_failed", alertId, err: cause });
    }
  }
}

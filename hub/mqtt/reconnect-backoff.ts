/**
 * Exponential reconnect back-off for an mqtt.js client. mqtt.js retries on a fixed
 * `reconnectPeriod`, but it re-arms its timer from that option after every failed attempt, so
 * doubling the option on each attempt and resetting it on connect gives back-off without patching it.
 */
import type { MqttClient } from "mqtt";

export interface ReconnectBackoff {
  /** First delay after a lost connection, in milliseconds. */
  initialMs: number;
  /** Longest delay between attempts, in milliseconds. */
  maxMs: number;
}

/** The delay after `delayMs` failed: doubled, capped at `maxMs`. */
export function nextReconnectDelay(delayMs: number, backoff: ReconnectBackoff): number {
  return Math.min(Math.max(delayMs, 1) * 2, backoff.maxMs);
}

/** Makes the client's reconnect delay grow on each attempt and reset once connected. */
export function applyReconnectBackoff(
  client: MqttClient,
  backoff: ReconnectBackoff,
  onAttempt: (delayMs: number) => void = () => {},
): void {
  if (backoff.initialMs <= 0 || backoff.maxMs < backoff.initialMs) {
    throw new Error(`invalid reconnect back-off: initialMs ${backoff.initialMs}, maxMs ${backoff.maxMs}`);
  }
  client.options.reconnectPeriod = backoff.initialMs;
  client.on("reconnect", () => {
    // "reconnect" fires before mqtt.js opens the new socket; the timer for a retry after this
    // attempt fails is armed later from the updated option.
    onAttempt(client.options.reconnectPeriod ?? backoff.initialMs);
    client.options.reconnectPeriod = nextReconnectDelay(
      client.options.reconnectPeriod ?? backoff.initialMs,
      backoff,
    );
  });
  client.on("connect", () => {
    client.options.reconnectPeriod = backoff.initialMs;
  });
}

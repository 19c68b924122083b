/**
 * Device messages handled inside the embedded broker, before it acknowledges them: an acknowledged
 * message is a stored message. aedes sends a QoS 1 PUBACK right after its `authorizePublish` hook
 * and before it routes the message anywhere, so a hub that stored through its MQTT link could crash
 * with windows the devices were told were delivered. The broker instead awaits `ingest` in that
 * hook, which runs the same route and handlers as the link (`dispatch.ts`), and forwards nothing it
 * ingested to the hub's own connection.
 *
 * A device's messages run one at a time in arrival order (aedes dispatches a socket chunk's packets
 * concurrently); devices run side by side, and the handlers' stores batch what arrives together.
 */
import type { Logger } from "../../lib/log.js";
import type { MessageGate } from "./device-message-gate.js";
import { type DeviceMessageHandlers, routeMessage } from "./dispatch.js";
import type { LinkObserver } from "./hub-link.js";

export interface InProcessIngest {
  /**
   * Handles one device message; resolves true once its handler finished (stored), false when it
   * is not a device message the hub handles (the broker then routes it as usual). Rejects when the
   * handler failed: the message is not stored and must not be acknowledged.
   */
  ingest(topic: string, payload: Buffer, retained: boolean): Promise<boolean>;
  /** Resolves once every message handed over so far was handled. */
  whenIdle(): Promise<void>;
}

/** Builds the ingest the embedded broker awaits before its PUBACK. */
export function inProcessIngest(
  handlers: DeviceMessageHandlers,
  log: Logger,
  // The same counters as the link's: messages ingested here never reach the link.
  observe: Pick<LinkObserver, "received" | "dropped"> = { received() {}, dropped() {} },
  /** Quota and data checks, with refusals counted per device (device-message-gate.ts). */
  gate?: MessageGate,
): InProcessIngest {
  /** The last message of each device still being handled; later ones chain behind it. */
  const tails = new Map<string, Promise<unknown>>();
  return {
    ingest(topic, payload, retained) {
      const routed = routeMessage(topic, payload, retained, gate);
      if (!routed.ok) {
        if (routed.drop === "invalid") {
          observe.dropped(routed.kind ?? "", "invalid");
          // Acknowledged and dropped, as on the link: sending it again would not make it valid.
          log.warn({
            event: "mqtt.payload.rejected",
            deviceId: routed.deviceId,
            topic,
            reason: routed.reason,
          });
          return Promise.resolve(true);
        }
        return Promise.resolve(false);
      }
      const { deviceId } = routed.message;
      observe.received(routed.message.kind);
      const previous = tails.get(deviceId) ?? Promise.resolve();
      const handled = previous.then(
        () => routed.message.call(handlers),
        () => routed.message.call(handlers),
      );
      tails.set(deviceId, handled);
      // The map holds only devices with a message in hand.
      const forget = () => {
        if (tails.get(deviceId) === handled) tails.delete(deviceId);
      };
      handled.then(forget, forget);
      return handled.then(
        () => true,
        (error: unknown) => {
          log.error({
            event: "mqtt.handler.failed",
            deviceId,
            topic,
            error: error instanceof Error ? error.message : String(error),
          });
          throw error;
        },
      );
    },
    async whenIdle() {
      while (tails.size > 0) await Promise.allSettled([...tails.values()]);
    },
  };
}

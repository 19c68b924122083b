/**
 * The hub's MQTT client: the one code path to devices, whether the broker is embedded (aedes) or
 * external (MQTT_URL). MQTT 3.1.1, persistent session with a stable client id so QoS 1 device
 * messages sent while the hub was briefly away are delivered when it returns.
 *
 * Incoming messages are validated (wire/messages.ts) and handed to injected handlers, in order per
 * device and concurrently across devices (`KeyedSerialQueue`). mqtt.js acknowledges a QoS 1 message
 * once it is queued here, so a hub crash loses what is queued and not yet handled; retained `status`
 * and `reported` come back on the next subscribe, and telemetry windows carry a sequence number.
 */
import { randomUUID } from "node:crypto";
import { connect, type IClientOptions, type MqttClient } from "mqtt";
import { z } from "zod";
import type { Logger } from "../../lib/log.js";
import { type ClientTls, mqttTlsOptions } from "../../lib/tls/client-tls.js";
import { type DesiredState, DesiredStateSchema } from "../../wire/messages.js";
import {
  alertTopic,
  allDevicesTopic,
  commandTopic,
  DEVICE_ID_PATTERN,
  deviceTopic,
  HUB_SYNC_TOPIC_ROOT,
} from "../../wire/topics.js";
import { HUB_CLIENT_ID_PREFIX, HUB_USERNAME } from "../broker/policy.js";
import type { MessageGate } from "./device-message-gate.js";
import { type DeviceMessageHandlers, routeMessage } from "./dispatch.js";
import { KeyedSerialQueue } from "./keyed-serial-queue.js";
import { applyReconnectBackoff, type ReconnectBackoff } from "./reconnect-backoff.js";

export type { DeviceMessageHandlers, MessageMeta } from "./dispatch.js";
export { HUB_USERNAME };

/** Defaults of the hub link; each can be overridden per call. */
export const HUB_LINK_DEFAULTS = {
  /** Stable client id, so the broker keeps the hub's session across reconnects. */
  clientId: HUB_CLIENT_ID_PREFIX,
  /** Devices whose handlers run at the same time (count). */
  concurrency: 16,
  /** Messages queued before the link stops reading from the broker (count); bounds memory. */
  maxPending: 1_000,
  /** Seconds between pings (MQTT keep-alive). */
  keepaliveS: 30,
  /** Time to wait for CONNACK, in milliseconds. */
  connectTimeoutMs: 10_000,
  /** Time close() waits for unacknowledged publishes before dropping the connection, in milliseconds. */
  closeTimeoutMs: 5_000,
  reconnect: { initialMs: 1_000, maxMs: 30_000 } satisfies ReconnectBackoff,
} as const;

/** Subscriptions the hub holds, all QoS 1 ([WIRE-1.3], wire/README.md §2). */
export const HUB_SUBSCRIPTIONS = [
  allDevicesTopic("status"),
  allDevicesTopic("reported"),
  allDevicesTopic("telemetry"),
  allDevicesTopic("events"),
  allDevicesTopic("responses/+"),
] as const;

/** Told of every message in and out, for the hub's metrics; kinds come from a closed set. */
export interface LinkObserver {
  /** A device message accepted and queued for its handler. */
  received(kind: string): void;
  /** A message dropped before any handler; `kind` is "" when the topic named no kind the hub routes. */
  dropped(kind: string, reason: "not-ours" | "empty" | "invalid"): void;
  /** A publish the broker acknowledged: desired, command or alert. */
  published(kind: "desired" | "command" | "alert"): void;
}

const NO_OBSERVER: LinkObserver = { received() {}, dropped() {}, published() {} };

export interface HubLinkOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  clientId?: string | undefined;
  /** CA bundle and client certificate for an mqtts:// broker. */
  tls?: ClientTls | undefined;
  log: Logger;
  handlers: DeviceMessageHandlers;
  concurrency?: number;
  maxPending?: number;
  reconnect?: Partial<ReconnectBackoff>;
  observe?: LinkObserver;
  /** Quota and data checks, with refusals counted per device (device-message-gate.ts). */
  gate?: MessageGate;
}

export interface HubLink {
  /** True while connected to the broker. */
  readonly connected: boolean;
  /** Device messages queued or being handled. */
  readonly pending: number;
  /**
   * Publishes a device's desired state (QoS 1, retained); resolves on PUBACK. While the link is down
   * the publish waits in mqtt.js and is sent on reconnect; close() fails whatever is still waiting.
   */
  publishDesired(deviceId: string, state: DesiredState): Promise<void>;
  /** Deletes a device's retained desired state (empty retained payload). */
  clearDesired(deviceId: string): Promise<void>;
  /** Sends a command to a device (`commands/{name}`, QoS 1, not retained); resolves on PUBACK. */
  publishCommand(deviceId: string, name: string, payload: unknown): Promise<void>;
  /** Publishes a monitor's alert on `edgefleet/v1/alerts/{monitorId}` (QoS 1, retained: the latest per monitor). */
  publishAlert(monitorId: string, payload: unknown): Promise<void>;
  /**
   * Waits until every message the broker had routed to the hub before this call was read and
   * handled: a QoS 1 round trip through the broker on a topic of its own (messages on one
   * connection arrive in order), then an idle handler queue. Gives up after `timeoutMs`.
   */
  drain(timeoutMs?: number): Promise<void>;
  /** Stops reading, waits for running handlers and disconnects; the broker keeps the session. */
  close(): Promise<void>;
}

/** Connects the hub to the broker and subscribes; rejects when the first attempt fails. */
export async function connectHubLink(options: HubLinkOptions): Promise<HubLink> {
  const { log, handlers } = options;
  const observe = options.observe ?? NO_OBSERVER;
  const clientId = options.clientId ?? HUB_LINK_DEFAULTS.clientId;
  const maxPending = options.maxPending ?? HUB_LINK_DEFAULTS.maxPending;
  const backoff = { ...HUB_LINK_DEFAULTS.reconnect, ...options.reconnect };
  const queue = new KeyedSerialQueue({
    concurrency: options.concurrency ?? HUB_LINK_DEFAULTS.concurrency,
    onError: (deviceId, error) =>
      log.error({
        event: "mqtt.handler.failed",
        deviceId,
        error: error instanceof Error ? error.message : String(error),
      }),
  });

  const clientOptions: IClientOptions = {
    protocolVersion: 4,
    clean: false,
    clientId,
    keepalive: HUB_LINK_DEFAULTS.keepaliveS,
    connectTimeout: HUB_LINK_DEFAULTS.connectTimeoutMs,
    reconnectPeriod: backoff.initialMs,
    // Keep trying after a refused CONNACK too: an external broker answers 3 while it restarts.
    reconnectOnConnackError: true,
    resubscribe: true,
    ...mqttTlsOptions(options.tls),
  };
  if (options.username !== undefined) clientOptions.username = options.username;
  if (options.password !== undefined) clientOptions.password = options.password;
  const client = connect(options.url, clientOptions);

  /** drain() round trips waiting for their message, by topic. */
  const syncWaiters = new Map<string, () => void>();
  // Dispatch here rather than on "message": mqtt.js reads the next packet only after this callback,
  // which is how a full queue pushes back on the broker.
  client.handleMessage = (packet, done) => {
    const synced = syncWaiters.get(packet.topic);
    if (synced) {
      syncWaiters.delete(packet.topic);
      synced();
      return done();
    }
    const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
    const routed = routeMessage(packet.topic, payload, packet.retain, options.gate);
    if (!routed.ok) {
      observe.dropped(routed.kind ?? "", routed.drop);
      if (routed.drop === "invalid") {
        log.warn({
          event: "mqtt.payload.rejected",
          deviceId: routed.deviceId,
          topic: packet.topic,
          reason: routed.reason,
        });
      } else {
        log.debug({ event: "mqtt.message.ignored", topic: packet.topic, reason: routed.reason });
      }
      return done();
    }
    const { message } = routed;
    observe.received(message.kind);
    queue.push(message.deviceId, () => message.call(handlers));
    if (queue.size < maxPending) return done();
    queue.whenAtMost(maxPending - 1).then(() => done());
  };

  let everConnected = false;
  let closed = false;
  applyReconnectBackoff(client, backoff, (delayMs) => log.info({ event: "mqtt.link.reconnecting", delayMs }));
  client.on("connect", (connack) => {
    log.info({
      event: "mqtt.link.connected",
      url: redact(options.url),
      clientId,
      sessionPresent: connack.sessionPresent,
    });
  });
  client.on("offline", () => {
    if (everConnected && !closed) log.warn({ event: "mqtt.link.offline", url: redact(options.url) });
  });
  client.on("error", (error) => {
    if (everConnected) log.warn({ event: "mqtt.link.error", error: error.message });
  });

  try {
    await firstConnect(client, options.url);
    await subscribeAll(client);
    everConnected = true;
  } catch (error) {
    closed = true;
    await client.endAsync(true).catch(() => undefined);
    throw error;
  }

  // Publishes still waiting for PUBACK; close() fails them instead of leaving callers hanging.
  const unacknowledged = new Set<(error: Error) => void>();
  const publishRetained = (deviceId: string, payload: string) =>
    publishTo(deviceTopic(deviceId, "desired"), payload, true, "desired");
  const publishTo = (
    topic: string,
    payload: string,
    retain: boolean,
    kind: "desired" | "command" | "alert",
  ) =>
    new Promise<void>((resolve, reject) => {
      if (closed) return reject(new Error("hub MQTT link is closed"));
      const fail = (error: Error) => {
        unacknowledged.delete(fail);
        reject(error);
      };
      unacknowledged.add(fail);
      client.publish(topic, payload, { qos: 1, retain }, (error) => {
        if (!unacknowledged.delete(fail)) return;
        if (error) return reject(error);
        observe.published(kind);
        resolve();
      });
    });

  return {
    get connected() {
      return client.connected && !closed;
    },
    get pending() {
      return queue.size;
    },
    async publishDesired(deviceId, state) {
      assertDeviceId(deviceId);
      const parsed = DesiredStateSchema.safeParse(state);
      if (!parsed.success)
        throw new Error(`invalid desired state for ${deviceId}:\n${z.prettifyError(parsed.error)}`);
      await publishRetained(deviceId, JSON.stringify(parsed.data));
    },
    async clearDesired(deviceId) {
      assertDeviceId(deviceId);
      await publishRetained(deviceId, "");
    },
    async publishCommand(deviceId, name, payload) {
      assertDeviceId(deviceId);
      await publishTo(commandTopic(deviceId, name), JSON.stringify(payload), false, "command");
    },
    async publishAlert(monitorId, payload) {
      await publishTo(alertTopic(monitorId), JSON.stringify(payload), true, "alert");
    },
    async drain(timeoutMs = HUB_LINK_DEFAULTS.closeTimeoutMs) {
      if (closed) return;
      const topic = `${HUB_SYNC_TOPIC_ROOT}/${randomUUID()}`;
      const arrived = new Promise<void>((resolve) => syncWaiters.set(topic, resolve));
      const roundTrip = (async () => {
        await client.subscribeAsync(topic, { qos: 1 });
        await client.publishAsync(topic, "", { qos: 1 });
        await arrived;
        await client.unsubscribeAsync(topic);
        return "done" as const;
      })();
      let timer: NodeJS.Timeout | undefined;
      // An offline link would queue the subscribe forever: the whole round trip is bounded.
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      try {
        if ((await Promise.race([roundTrip, timedOut])) === "timeout")
          log.warn({ event: "mqtt.link.drain_timeout", timeoutMs });
      } catch (error) {
        log.warn({ event: "mqtt.link.drain_failed", error: (error as Error).message });
      } finally {
        clearTimeout(timer);
        syncWaiters.delete(topic);
        roundTrip.catch(() => undefined);
      }
      await queue.whenIdle();
    },
    async close() {
      if (closed) return;
      closed = true;
      await endGracefully(client, HUB_LINK_DEFAULTS.closeTimeoutMs);
      for (const fail of [...unacknowledged])
        fail(new Error("hub MQTT link closed before the broker acknowledged"));
      await queue.whenIdle();
      log.info({ event: "mqtt.link.closed" });
    },
  };
}

function assertDeviceId(deviceId: string): void {
  if (!DEVICE_ID_PATTERN.test(deviceId)) throw new Error(`invalid device id: ${JSON.stringify(deviceId)}`);
}

/** Resolves on the first CONNACK; rejects on the first error or close before it. */
function firstConnect(client: MqttClient, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      client.off("connect", onConnect);
      client.off("error", onError);
      client.off("close", onClose);
    };
    const onConnect = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error) => {
      cleanup();
      reject(
        new Error(`cannot connect to MQTT broker at ${redact(url)}: ${error.message}`, { cause: error }),
      );
    };
    const onClose = () => onError(new Error("connection closed before CONNACK"));
    client.on("connect", onConnect);
    client.on("error", onError);
    client.on("close", onClose);
  });
}

async function subscribeAll(client: MqttClient): Promise<void> {
  const filters = Object.fromEntries(HUB_SUBSCRIPTIONS.map((filter) => [filter, { qos: 1 as const }]));
  try {
    await client.subscribeAsync(filters);
  } catch (error) {
    throw new Error(
      `the broker refused the hub's subscriptions (check its ACL): ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/** Ends the connection, giving unacknowledged publishes a moment; never hangs on a dead broker. */
async function endGracefully(client: MqttClient, timeoutMs: number): Promise<void> {
  if (!client.connected) {
    await client.endAsync(true);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const result = await Promise.race([client.endAsync(false).then(() => "ended" as const), timedOut]);
  clearTimeout(timer);
  // mqtt.js ignores a second end() while the first waits, so drop the socket itself.
  if (result === "timeout") client.stream.destroy();
}

/** The URL without credentials, for logs and errors. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    return parsed.toString();
  } catch {
    return "(invalid URL)";
  }
}

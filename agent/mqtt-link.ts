/**
 * The agent's MQTT connection (3.1.1, so aedes and any broker work). Identity: clientId = username =
 * deviceId, password = device secret, persistent session (clean: false). A retained last will marks
 * the device offline; a retained birth `status` marks it online on every connect. Incoming `desired`
 * payloads are validated and handed to `onDesired`; invalid ones become an `events` message.
 *
 * Reconnection is ours, not mqtt.js's: its fixed-period timer would hot-loop a device whose
 * credentials were refused, so every close schedules one reconnect with exponential back-off
 * (longer after an auth refusal), reset by a successful CONNACK.
 */
import mqtt, { type MqttClient } from "mqtt";
import type { Logger } from "../lib/log.js";
import { type ClientTls, mqttTlsOptions } from "../lib/tls/client-tls.js";
import {
  type DesiredState,
  DesiredStateSchema,
  type DeviceEvent,
  PROTOCOL_VERSION,
  parsePayload,
  type ReportedState,
  type Status,
  type TelemetryWindow,
} from "../wire/messages.js";
import { commandTopic, deviceTopic, responseTopic } from "../wire/topics.js";

export interface ReconnectPolicy {
  baseMs: number;
  maxMs: number;
  /** First delay after the broker refused our credentials (CONNACK 4 or 5). */
  authRefusedBaseMs: number;
}

/** 1 s doubling to 60 s; 15 s doubling to 60 s after an auth refusal (an operator has to act). */
export const DEFAULT_RECONNECT: ReconnectPolicy = { baseMs: 1000, maxMs: 60_000, authRefusedBaseMs: 15_000 };

/** Events kept while offline; older ones are dropped (they are a timeline, not state). */
const EVENT_QUEUE_LIMIT = 100;

export type EventInput = Omit<DeviceEvent, "protocol" | "at">;

export interface MqttLinkOptions {
  url: string;
  deviceId: string;
  /** The device secret (MQTT password); none when the device logs in with its certificate. */
  secret?: string | undefined;
  /** CA bundle and device certificate for an mqtts:// broker. */
  tls?: ClientTls | undefined;
  log: Logger;
  /** Birth payload fields (agent version, profile, capabilities, scoring URL). */
  birth: () => Omit<Status, "protocol" | "online" | "at">;
  onDesired: (desired: DesiredState) => void;
  /**
   * Hub commands (`commands/{name}`, raw payload); the link subscribes to `commands/#` only when
   * given. Answer with `publishResponse`.
   */
  onCommand?: (name: string, payload: Buffer) => void;
  /** Called after each successful connect and birth; the owner flushes queued data here. */
  onConnect?: () => void;
  reconnect?: ReconnectPolicy;
  /** Seconds; the broker declares us dead (and publishes the will) after 1.5x this. */
  keepaliveSec?: number;
  now?: () => Date;
}

/** A live MQTT session for one device. */
export class MqttLink {
  readonly #client: MqttClient;
  readonly #options: MqttLinkOptions;
  readonly #policy: ReconnectPolicy;
  readonly #now: () => Date;
  #failures = 0;
  #authRefused = false;
  #timer: NodeJS.Timeout | undefined;
  #stopping = false;
  #reported: ReportedState | undefined;
  #reportedDirty = false;
  readonly #events: DeviceEvent[] = [];

  /** Connects (in the background) and keeps reconnecting until stop(). */
  constructor(options: MqttLinkOptions) {
    this.#options = options;
    this.#policy = options.reconnect ?? DEFAULT_RECONNECT;
    this.#now = options.now ?? (() => new Date());
    const { deviceId } = options;
    this.#client = mqtt.connect(options.url, {
      protocolVersion: 4,
      clientId: deviceId,
      username: deviceId,
      ...(options.secret !== undefined ? { password: options.secret } : {}),
      ...mqttTlsOptions(options.tls),
      clean: false,
      keepalive: options.keepaliveSec ?? 30,
      reconnectPeriod: 0,
      resubscribe: false,
      will: this.#will(),
    });
    this.#client.on("connect", () => this.#onConnect());
    this.#client.on("close", () => this.#onClose());
    this.#client.on("error", (error) => this.#onError(error));
    this.#client.on("message", (topic, payload) => this.#onMessage(topic, payload));
  }

  /** Whether the session is up now. */
  get connected(): boolean {
    return this.#client.connected;
  }

  /** Publishes the reported state (retained); while offline only the latest is kept and sent on connect. */
  publishReported(state: ReportedState): void {
    this.#reported = state;
    this.#reportedDirty = true;
    if (this.connected) this.#flushReported();
  }

  /** Publishes a progress or error event; queued (bounded) while offline. */
  publishEvent(event: EventInput): void {
    const full: DeviceEvent = { protocol: PROTOCOL_VERSION, at: this.#now().toISOString(), ...event };
    if (this.connected) {
      this.#publish("events", full, false);
      return;
    }
    this.#events.push(full);
    if (this.#events.length > EVENT_QUEUE_LIMIT) this.#events.shift();
  }

  /**
   * Publishes one telemetry window; true once the broker acknowledged it (PUBACK), false when
   * offline or refused, so the caller keeps it spooled. A connection lost mid-flight leaves the
   * promise waiting: mqtt.js resends from its store after the reconnect and settles it then.
   */
  async publishTelemetry(window: TelemetryWindow): Promise<boolean> {
    return this.#publishAcked("telemetry", window);
  }

  /** Publishes an event now and resolves true on PUBACK; false when offline (nothing is queued). */
  async publishEventAcked(event: EventInput): Promise<boolean> {
    const full: DeviceEvent = { protocol: PROTOCOL_VERSION, at: this.#now().toISOString(), ...event };
    return this.#publishAcked("events", full);
  }

  /** Answers a command on `responses/{requestId}` (QoS 1, not retained); dropped while offline. */
  publishResponse(requestId: string, payload: unknown): void {
    if (!this.connected) return;
    const topic = responseTopic(this.#options.deviceId, requestId);
    this.#client.publish(topic, JSON.stringify(payload), { qos: 1 }, (error) => {
      if (error) this.#options.log.warn({ event: "mqtt.publish_failed", topic, error: error.message });
    });
  }

  /** Publishes `online: false`, disconnects cleanly and stops reconnecting. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    if (this.connected) {
      await this.#client
        .publishAsync(deviceTopic(this.#options.deviceId, "status"), JSON.stringify(this.#status(false)), {
          qos: 1,
          retain: true,
        })
        .catch((error: Error) =>
          this.#options.log.warn({ event: "mqtt.offline_publish_failed", error: error.message }),
        );
    }
    await this.#client.endAsync();
  }

  #onConnect(): void {
    const { deviceId, log } = this.#options;
    this.#failures = 0;
    this.#authRefused = false;
    log.info({ event: "mqtt.connected", url: this.#options.url });
    this.#publish("status", this.#status(true), true);
    this.#client.subscribe(deviceTopic(deviceId, "desired"), { qos: 1 }, (error) => {
      if (error) log.error({ event: "mqtt.subscribe_failed", error: error.message });
    });
    if (this.#options.onCommand) {
      this.#client.subscribe(commandTopic(deviceId, "#"), { qos: 1 }, (error) => {
        if (error) log.error({ event: "mqtt.subscribe_failed", error: error.message });
      });
    }
    this.#flushReported(true);
    for (const event of this.#events.splice(0)) this.#publish("events", event, false);
    this.#options.onConnect?.();
  }

  #onClose(): void {
    if (this.#stopping || this.#timer) return;
    const base = this.#authRefused ? this.#policy.authRefusedBaseMs : this.#policy.baseMs;
    const delayMs = Math.min(this.#policy.maxMs, base * 2 ** this.#failures);
    this.#failures++;
    this.#options.log.info({ event: "mqtt.reconnect_scheduled", delayMs, attempt: this.#failures });
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopping) return;
      // A fresh `at` in the will, so the offline status says when this session began.
      this.#client.options.will = this.#will();
      // Keep the stores: QoS 1 messages not yet acknowledged are resent on the new connection.
      this.#client.reconnect({
        incomingStore: this.#client.incomingStore,
        outgoingStore: this.#client.outgoingStore,
      });
    }, delayMs);
  }

  #onError(error: Error & { code?: unknown }): void {
    const { log, url, deviceId } = this.#options;
    if (error.code === 4 || error.code === 5) {
      this.#authRefused = true;
      log.error({
        event: "mqtt.auth_refused",
        url,
        deviceId,
        code: error.code,
        message:
          "the broker refused this device's credentials; check EDGEFLEET_DEVICE_ID and EDGEFLEET_DEVICE_SECRET",
      });
      return;
    }
    log.warn({ event: "mqtt.error", url, error: error.message, code: error.code });
  }

  #onMessage(topic: string, payload: Buffer): void {
    const commands = commandTopic(this.#options.deviceId, "");
    if (topic.startsWith(commands) && this.#options.onCommand) {
      if (payload.length > 0) this.#options.onCommand(topic.slice(commands.length), payload);
      return;
    }
    if (topic !== deviceTopic(this.#options.deviceId, "desired")) return;
    // An empty retained payload is how a broker clears a retained message: nothing to do.
    if (payload.length === 0) return;
    const parsed = parsePayload(DesiredStateSchema, payload);
    if (!parsed.ok) {
      this.#options.log.warn({ event: "desired.invalid", error: parsed.error });
      this.publishEvent({
        kind: "desired.invalid",
        message: `ignored an invalid desired state: ${parsed.error}`,
      });
      return;
    }
    this.#options.onDesired(parsed.value);
  }

  #flushReported(force = false): void {
    if (this.#reported === undefined || (!this.#reportedDirty && !force)) return;
    this.#reportedDirty = false;
    this.#publish("reported", this.#reported, true);
  }

  async #publishAcked(kind: "events" | "telemetry", payload: unknown): Promise<boolean> {
    if (!this.connected) return false;
    const topic = deviceTopic(this.#options.deviceId, kind);
    try {
      await this.#client.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
      return true;
    } catch (error) {
      this.#options.log.warn({ event: "mqtt.publish_failed", topic, error: (error as Error).message });
      return false;
    }
  }

  #publish(kind: "status" | "reported" | "events" | "telemetry", payload: unknown, retain: boolean): void {
    const topic = deviceTopic(this.#options.deviceId, kind);
    this.#client.publish(topic, JSON.stringify(payload), { qos: 1, retain }, (error) => {
      if (error) this.#options.log.warn({ event: "mqtt.publish_failed", topic, error: error.message });
    });
  }

  #will(): NonNullable<MqttClient["options"]["will"]> {
    const payload = Buffer.from(JSON.stringify(this.#status(false)));
    return { topic: deviceTopic(this.#options.deviceId, "status"), payload, qos: 1, retain: true };
  }

  #status(online: boolean): Status {
    const status: Status = { protocol: PROTOCOL_VERSION, online, at: this.#now().toISOString() };
    return online ? { ...this.#options.birth(), ...status } : status;
  }
}

/**
 * One simulated agent: a single mqtt.js client speaking the device protocol (wire/topics.ts,
 * wire/messages.ts) like agent/mqtt-link.ts does (clientId = username = device id, retained birth
 * status with an offline last will, QoS 1 subscription to `desired`), but with no ONNX and no
 * downloads: each desired module walks downloading → verifying → loading → active (or failed) as
 * its behaviour says, and active modules report synthetic telemetry windows.
 */
import mqtt, { type MqttClient } from "mqtt";
import type { FirmwareProfile } from "../firmware-profiles/schema.js";
import {
  type Capabilities,
  type DesiredModule,
  type DesiredState,
  DesiredStateSchema,
  type ModuleState,
  PROTOCOL_VERSION,
  parsePayload,
  type ReportedModule,
  type Status,
} from "../wire/messages.js";
import { deviceTopic } from "../wire/topics.js";
import { type Behaviour, behaviourFor, type FleetBehaviour } from "./behaviour.js";
import { simulatedWindow } from "./telemetry.js";

export const SIM_AGENT_VERSION = "0.0.0-sim";

export interface SimDeviceOptions {
  id: string;
  secret: string;
  mqttUrl: string;
  profile: FirmwareProfile | null;
  behaviour: () => FleetBehaviour;
  random: () => number;
  /** Told on every state a module reaches, for waiting without polling the hub. */
  onState?: (deviceId: string, module: ReportedModule) => void;
  /** Told on every desired state received (benchmarks time notification with it). */
  onDesired?: (deviceId: string, desired: DesiredState) => void;
  /** Basic auth for HEAD requests to blob URLs. */
  authorization: string;
}

/** Capabilities a device of this profile would detect (a plausible, matching report). */
export function simulatedCapabilities(profile: FirmwareProfile | null): Capabilities {
  return {
    arch: profile?.arch ?? "x64",
    platform: profile?.os ?? "linux",
    cpus: Math.max(4, profile?.threads ?? 4),
    memoryMb: (profile?.memoryMb ?? 2048) * 2,
    executionProviders: profile ? [...profile.executionProviders] : ["cpu"],
    onnxruntimeVersion: "1.30.0",
  };
}

const delay = (ms: number) =>
  new Promise<void>((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));

/** A simulated device; start() connects, stop() publishes offline and disconnects. */
export class SimulatedDevice {
  readonly id: string;
  readonly #options: SimDeviceOptions;
  #client: MqttClient | undefined;
  #revision = 0;
  #generation = 0;
  readonly #modules = new Map<string, ReportedModule>();
  #seq = 0;
  #windowStart = new Date();
  #telemetryTimer: NodeJS.Timeout | undefined;
  #offlineTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #offline = false;

  constructor(options: SimDeviceOptions) {
    this.id = options.id;
    this.#options = options;
  }

  /** Whether the MQTT session is up. */
  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  /** The module states this device reports now. */
  get modules(): ReportedModule[] {
    return [...this.#modules.values()];
  }

  /** Connects; resolves on the first CONNACK or rejects on the first error. */
  start(): Promise<void> {
    const client = mqtt.connect(this.#options.mqttUrl, {
      protocolVersion: 4,
      clientId: this.id,
      username: this.id,
      password: this.#options.secret,
      // Clean sessions keep the broker light; the retained `desired` is redelivered on subscribe.
      clean: true,
      keepalive: 60,
      reconnectPeriod: 0,
      will: this.#will(),
    });
    this.#client = client;
    client.on("connect", () => this.#onConnect());
    client.on("message", (topic, payload) => this.#onMessage(topic, payload));
    client.on("close", () => this.#onClose());
    client.on("error", () => undefined);
    this.#scheduleTelemetry();
    this.#scheduleOutage();
    return new Promise((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", reject);
    });
  }

  /** Publishes offline and disconnects cleanly. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#generation++;
    clearTimeout(this.#telemetryTimer);
    clearTimeout(this.#offlineTimer);
    const client = this.#client;
    if (!client) return;
    if (client.connected) {
      await client
        .publishAsync(deviceTopic(this.id, "status"), JSON.stringify(this.#status(false)), {
          qos: 1,
          retain: true,
        })
        .catch(() => undefined);
    }
    // Connected: a clean DISCONNECT, so the broker discards the will instead of publishing it.
    // Offline: nothing to say goodbye over, and a graceful end would wait for a connection.
    await client.endAsync(!client.connected).catch(() => undefined);
  }

  /** Re-reads the telemetry and outage timings after a behaviour change. */
  reschedule(): void {
    clearTimeout(this.#telemetryTimer);
    clearTimeout(this.#offlineTimer);
    this.#offlineTimer = undefined;
    this.#scheduleTelemetry();
    this.#scheduleOutage();
  }

  /** Drops the connection without DISCONNECT (the broker publishes the will), back after `forMs`. */
  goOffline(forMs: number): void {
    if (this.#offline || this.#stopped || !this.#client) return;
    this.#offline = true;
    this.#client.stream.destroy();
    setTimeout(() => {
      this.#offline = false;
      if (this.#stopped || !this.#client) return;
      this.#client.options.will = this.#will();
      this.#client.reconnect();
    }, forMs).unref();
  }

  #onConnect(): void {
    const client = this.#client!;
    client.publish(deviceTopic(this.id, "status"), JSON.stringify(this.#status(true)), {
      qos: 1,
      retain: true,
    });
    client.subscribe(deviceTopic(this.id, "desired"), { qos: 1 });
    if (this.#modules.size > 0) this.#publishReported();
  }

  #onClose(): void {
    if (this.#stopped || this.#offline) return;
    // An unplanned drop (broker restart): come back after a short, spread-out pause.
    setTimeout(
      () => {
        if (this.#stopped || this.#offline || !this.#client || this.#client.connected) return;
        this.#client.reconnect();
      },
      500 + this.#options.random() * 1500,
    ).unref();
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (topic !== deviceTopic(this.id, "desired") || payload.length === 0) return;
    const parsed = parsePayload(DesiredStateSchema, payload);
    if (!parsed.ok) return;
    this.#options.onDesired?.(this.id, parsed.value);
    this.#onDesired(parsed.value);
  }

  #onDesired(desired: DesiredState): void {
    if (desired.revision < this.#revision) return;
    this.#revision = desired.revision;
    const generation = ++this.#generation;
    const wanted = new Set(desired.modules.map((m) => m.name));
    for (const name of [...this.#modules.keys()]) if (!wanted.has(name)) this.#modules.delete(name);
    const work = desired.modules.filter((m) => {
      const current = this.#modules.get(m.name);
      // Active already, or failed before: the real agent does not retry a failed version in a loop.
      return !(current?.version === m.version && (current.state === "active" || current.state === "failed"));
    });
    if (work.length === 0) {
      this.#publishReported();
      return;
    }
    for (const module of work) void this.#apply(module, generation);
  }

  async #apply(module: DesiredModule, generation: number): Promise<void> {
    const previous = this.#modules.get(module.name);
    const serving = previous?.state === "active" ? previous.version : (previous?.servingVersion ?? null);
    const behaviour = behaviourFor(this.#options.behaviour(), module.name, module.version, this.id);
    for (const state of ["downloading", "verifying", "loading"] as const) {
      if (generation !== this.#generation) return;
      this.#set(module, state, serving);
      if (state === "verifying" && behaviour.headBlob) await this.#head(module.url);
      await delay(behaviour.stepDelayMs);
    }
    if (generation !== this.#generation) return;
    if (this.#options.random() < behaviour.failureRate) {
      this.#set(module, "failed", serving, "simulated activation failure");
    } else {
      this.#set(module, "active", module.version);
    }
  }

  #set(module: DesiredModule, state: ModuleState, servingVersion: string | null, error?: string): void {
    const entry: ReportedModule = {
      name: module.name,
      version: module.version,
      state,
      servingVersion,
      since: new Date().toISOString(),
      ...(error ? { error } : {}),
    };
    this.#modules.set(module.name, entry);
    this.#publishReported();
    this.#options.onState?.(this.id, entry);
  }

  #publishReported(): void {
    if (!this.#client?.connected) return;
    const reported = {
      protocol: PROTOCOL_VERSION,
      revision: this.#revision,
      modules: [...this.#modules.values()].sort((a, b) => a.name.localeCompare(b.name)),
      at: new Date().toISOString(),
    };
    this.#client.publish(deviceTopic(this.id, "reported"), JSON.stringify(reported), {
      qos: 1,
      retain: true,
    });
  }

  async #head(url: string): Promise<void> {
    await fetch(url, { method: "HEAD", headers: { authorization: this.#options.authorization } }).catch(
      () => undefined,
    );
  }

  #scheduleTelemetry(): void {
    const { telemetryIntervalMs } = this.#options.behaviour();
    if (telemetryIntervalMs <= 0 || this.#stopped) return;
    // A random first delay spreads 1000 devices' windows over the interval.
    const first = this.#seq === 0 ? this.#options.random() * telemetryIntervalMs : telemetryIntervalMs;
    this.#telemetryTimer = setTimeout(() => {
      this.#sendTelemetry();
      this.#scheduleTelemetry();
    }, first);
    this.#telemetryTimer.unref();
  }

  #sendTelemetry(): void {
    const windowEnd = new Date();
    const active = [...this.#modules.values()].filter((m) => m.state === "active");
    const fleet = this.#options.behaviour();
    const window = {
      protocol: PROTOCOL_VERSION,
      seq: this.#seq++,
      windowStart: this.#windowStart.toISOString(),
      windowEnd: windowEnd.toISOString(),
      modules: active.map((m) =>
        simulatedWindow(m, behaviourFor(fleet, m.name, m.version, this.id), this.#options.random),
      ),
    };
    this.#windowStart = windowEnd;
    if (window.modules.length === 0 || !this.#client?.connected) return;
    this.#client.publish(deviceTopic(this.id, "telemetry"), JSON.stringify(window), { qos: 1 });
  }

  #scheduleOutage(): void {
    const behaviour: Behaviour = this.#options.behaviour();
    if (behaviour.offlineEverySec <= 0 || this.#stopped) return;
    const everyMs = behaviour.offlineEverySec * 1000;
    // Random phase so outages do not hit the whole fleet at once.
    const wait = this.#offlineTimer === undefined ? this.#options.random() * everyMs : everyMs;
    this.#offlineTimer = setTimeout(() => {
      this.goOffline(this.#options.behaviour().offlineForSec * 1000);
      this.#scheduleOutage();
    }, wait);
    this.#offlineTimer.unref();
  }

  #will() {
    return {
      topic: deviceTopic(this.id, "status"),
      payload: Buffer.from(JSON.stringify(this.#status(false))),
      qos: 1 as const,
      retain: true,
    };
  }

  #status(online: boolean): Status {
    const at = new Date().toISOString();
    if (!online) return { protocol: PROTOCOL_VERSION, online, at };
    return {
      protocol: PROTOCOL_VERSION,
      online,
      agentVersion: SIM_AGENT_VERSION,
      ...(this.#options.profile ? { profile: this.#options.profile.id } : {}),
      capabilities: simulatedCapabilities(this.#options.profile),
      at,
    };
  }
}

import type { MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/log.js";
import {
  deferred,
  desired,
  event,
  recordingHandlers,
  reported,
  status,
  window,
} from "../../test/support/device-messages.js";
import { memoryLogger } from "../../test/support/memory-log.js";
import { connectClient, endAll, nextMessage } from "../../test/support/mqtt-clients.js";
import type { TelemetryWindow } from "../../wire/messages.js";
import { deviceTopic, responseTopic } from "../../wire/topics.js";
import { type EmbeddedBroker, startEmbeddedBroker } from "../broker/embedded.js";
import { connectHubLink, HUB_USERNAME, type HubLink, type HubLinkOptions } from "./hub-link.js";

const HUB_SECRET = "hub-secret-for-link-tests-01";
const SECRET = "device-secret";

describe("hub link on the embedded broker", () => {
  let broker: EmbeddedBroker;
  const links: HubLink[] = [];
  const clients: MqttClient[] = [];

  const startBroker = (port = 0) =>
    startEmbeddedBroker({
      host: "127.0.0.1",
      port,
      hubSecret: HUB_SECRET,
      verifyDevice: async (id, secret) => id.startsWith("dev-") && secret === SECRET,
      log: silentLogger,
    });
  const link = async (options: Partial<HubLinkOptions> & Pick<HubLinkOptions, "handlers">) => {
    const created = await connectHubLink({
      url: broker.url,
      username: HUB_USERNAME,
      password: HUB_SECRET,
      log: silentLogger,
      ...options,
    });
    links.push(created);
    return created;
  };
  const device = async (id: string, extra: Parameters<typeof connectClient>[1] = {}) => {
    const client = await connectClient(broker.url, {
      clientId: id,
      username: id,
      password: SECRET,
      ...extra,
    });
    clients.push(client);
    return client;
  };
  const send = (client: MqttClient, topic: string, payload: unknown, retain = false) =>
    client.publishAsync(topic, typeof payload === "string" ? payload : JSON.stringify(payload), {
      qos: 1,
      retain,
    });

  beforeAll(async () => {
    broker = await startBroker();
  });
  afterEach(async () => {
    await endAll(clients.splice(0));
    for (const created of links.splice(0)) await created.close();
  });
  afterAll(async () => {
    await broker.close();
  });

  it("hands each message kind to its handler with the parsed payload", async () => {
    const { handlers, until } = recordingHandlers();
    const hub = await link({ handlers });
    expect(hub.connected).toBe(true);
    const dev = await device("dev-1");
    await send(dev, deviceTopic("dev-1", "status"), status(true), true);
    await send(dev, deviceTopic("dev-1", "reported"), reported, true);
    await send(dev, deviceTopic("dev-1", "telemetry"), window(7));
    await send(dev, deviceTopic("dev-1", "events"), event);
    await send(dev, responseTopic("dev-1", "req-9"), { pong: true });
    const calls = await until(() => true, 5);
    expect(calls).toEqual([
      { kind: "status", deviceId: "dev-1", value: status(true) },
      { kind: "reported", deviceId: "dev-1", value: reported },
      { kind: "telemetry", deviceId: "dev-1", value: window(7) },
      { kind: "event", deviceId: "dev-1", value: event },
      { kind: "response", deviceId: "dev-1", value: { requestId: "req-9", value: { pong: true } } },
    ]);
    await send(dev, deviceTopic("dev-1", "status"), "", true);
    await send(dev, deviceTopic("dev-1", "reported"), "", true);
  });

  it("drops invalid payloads with a log entry and still delivers valid ones after them", async () => {
    const memory = memoryLogger();
    const { handlers, calls, until } = recordingHandlers();
    await link({ handlers, log: memory.log });
    const dev = await device("dev-2");
    await send(dev, deviceTopic("dev-2", "telemetry"), "not json {");
    await send(dev, deviceTopic("dev-2", "telemetry"), { protocol: 1, seq: -1 });
    await send(dev, deviceTopic("dev-2", "events"), { protocol: 2 });
    await send(dev, deviceTopic("dev-2", "telemetry"), window(1));
    await until((call) => call.kind === "telemetry");
    expect(calls).toEqual([{ kind: "telemetry", deviceId: "dev-2", value: window(1) }]);
    const rejected = memory.events("mqtt.payload.rejected");
    expect(rejected).toHaveLength(3);
    expect(rejected[0]).toMatchObject({ deviceId: "dev-2", topic: deviceTopic("dev-2", "telemetry") });
    expect(String(rejected[0]?.reason)).toContain("not JSON");
  });

  it("logs a handler that throws and goes on with the next message", async () => {
    const memory = memoryLogger();
    const { handlers, until } = recordingHandlers(async (_deviceId, received) => {
      if (received.seq === 0) throw new Error("store is down");
    });
    await link({ handlers, log: memory.log });
    const dev = await device("dev-3");
    await send(dev, deviceTopic("dev-3", "telemetry"), window(0));
    await send(dev, deviceTopic("dev-3", "telemetry"), window(1));
    const [call] = await until((c) => c.kind === "telemetry");
    expect(call?.value).toEqual(window(1));
    expect(memory.events("mqtt.handler.failed")).toEqual([
      expect.objectContaining({ deviceId: "dev-3", error: "store is down" }),
    ]);
  });

  it("keeps each device's order while devices run concurrently", async () => {
    const aStarted = deferred();
    const bHandled = deferred();
    const { handlers, calls, until } = recordingHandlers(async (deviceId, received) => {
      if (deviceId === "dev-a" && received.seq === 0) {
        aStarted.resolve();
        // Holds dev-a's first message until dev-b's is handled: a single global queue would never get there.
        await bHandled.promise;
      }
      // Uneven async work, so a queue that did not serialise per device would reorder.
      for (let i = 0; i < received.seq % 4; i++) await new Promise((resolve) => setImmediate(resolve));
      if (deviceId === "dev-b") bHandled.resolve();
    });
    await link({ handlers, concurrency: 4 });
    const a = await device("dev-a");
    const b = await device("dev-b");
    const count = 30;
    await send(a, deviceTopic("dev-a", "telemetry"), window(0));
    await aStarted.promise;
    await Promise.all([
      ...Array.from({ length: count - 1 }, (_, i) =>
        send(a, deviceTopic("dev-a", "telemetry"), window(i + 1)),
      ),
      send(b, deviceTopic("dev-b", "telemetry"), window(0)),
    ]);
    await until((call) => call.deviceId === "dev-a", count);
    const order = calls
      .filter((call) => call.deviceId === "dev-a")
      .map((call) => (call.value as TelemetryWindow).seq);
    expect(order).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(calls.findIndex((call) => call.deviceId === "dev-b")).toBeLessThan(
      calls.findIndex((call) => call.deviceId === "dev-a"),
    );
  });

  it("publishes desired retained, so a device connecting later receives it, and clears it", async () => {
    const hub = await link({ handlers: recordingHandlers().handlers });
    await hub.publishDesired("dev-4", desired(5));

    const late = await device("dev-4");
    const retained = nextMessage(late, () => true);
    await late.subscribeAsync(deviceTopic("dev-4", "desired"), { qos: 1 });
    const message = await retained;
    expect(message.retain).toBe(true);
    expect(JSON.parse(message.payload.toString())).toEqual(desired(5));

    await hub.clearDesired("dev-4");
    const later = await device("dev-4");
    const first = nextMessage(later, () => true);
    await later.subscribeAsync(deviceTopic("dev-4", "desired"), { qos: 1 });
    await hub.publishDesired("dev-4", desired(6));
    expect(JSON.parse((await first).payload.toString())).toEqual(desired(6));
    await hub.clearDesired("dev-4");
  });

  it("refuses a bad device id or desired state and publishes nothing", async () => {
    const hub = await link({ handlers: recordingHandlers().handlers });
    await expect(hub.publishDesired("Bad/Id", desired(1))).rejects.toThrow(/invalid device id/);
    await expect(hub.publishDesired("dev-5", { ...desired(1), revision: -1 })).rejects.toThrow(
      /invalid desired state/,
    );
    await expect(hub.clearDesired("+")).rejects.toThrow(/invalid device id/);

    const dev = await device("dev-5");
    const first = nextMessage(dev, () => true);
    await dev.subscribeAsync(deviceTopic("dev-5", "desired"), { qos: 1 });
    await hub.publishDesired("dev-5", desired(2));
    expect(JSON.parse((await first).payload.toString())).toEqual(desired(2));
    await hub.clearDesired("dev-5");
  });

  it("reports a device offline from its last will", async () => {
    const { handlers, until } = recordingHandlers();
    await link({ handlers });
    const will = {
      topic: deviceTopic("dev-6", "status"),
      payload: JSON.stringify(status(false)),
      qos: 1 as const,
      retain: true,
    };
    const dev = await device("dev-6", { will });
    await send(dev, deviceTopic("dev-6", "status"), status(true), true);
    await until((call) => call.kind === "status");
    dev.stream.destroy();
    const calls = await until((call) => call.kind === "status", 2);
    expect(calls[1]).toEqual({ kind: "status", deviceId: "dev-6", value: status(false) });
    const cleaner = await device("dev-6");
    await send(cleaner, deviceTopic("dev-6", "status"), "", true);
  });

  it("receives QoS 1 messages sent while it was disconnected", async () => {
    const memory = memoryLogger();
    const { handlers, until } = recordingHandlers();
    const hub = await link({
      handlers,
      log: memory.log,
      clientId: "edgefleet-hub-away",
      reconnect: { initialMs: 500, maxMs: 1_000 },
    });
    // Another connection with the hub's client id takes the session over and leaves; the link is away.
    const impostor = await connectClient(broker.url, {
      clientId: "edgefleet-hub-away",
      clean: false,
      username: HUB_USERNAME,
      password: HUB_SECRET,
    });
    await impostor.endAsync();
    const dev = await device("dev-7");
    await send(dev, deviceTopic("dev-7", "telemetry"), window(42));
    const [call] = await until((c) => c.deviceId === "dev-7");
    expect(call?.value).toEqual(window(42));
    expect(hub.connected).toBe(true);
    // It came back to the session the broker kept, which is where the message waited.
    const connects = memory.events("mqtt.link.connected");
    expect(connects.map((entry) => entry.sessionPresent)).toEqual([false, true]);
    expect(memory.events("mqtt.link.offline")).toHaveLength(1);
  });

  it("reconnects with back-off after the broker restarts and subscribes again", async () => {
    const { handlers, until } = recordingHandlers();
    const hub = await link({ handlers, reconnect: { initialMs: 50, maxMs: 400 } });
    const { port } = broker;
    await broker.close();
    broker = await startBroker(port);
    // A fresh broker has no session: the link must subscribe again before the device's message counts.
    await new Promise<void>((resolve) => {
      const poll = () => (hub.connected ? resolve() : setTimeout(poll, 20));
      poll();
    });
    const dev = await device("dev-8");
    let delivered = false;
    while (!delivered) {
      await send(dev, deviceTopic("dev-8", "events"), event);
      delivered = await Promise.race([
        until((c) => c.deviceId === "dev-8").then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 100)),
      ]);
    }
    expect(hub.connected).toBe(true);
  });

  it("fails a publish still waiting for the broker when the link closes", async () => {
    const hub = await link({
      handlers: recordingHandlers().handlers,
      reconnect: { initialMs: 50, maxMs: 100 },
    });
    const { port } = broker;
    await broker.close();
    await new Promise<void>((resolve) => {
      const poll = () => (hub.connected ? setTimeout(poll, 20) : resolve());
      poll();
    });
    const pending = hub.publishDesired("dev-9", desired(1));
    await hub.close();
    await expect(pending).rejects.toThrow(/closed before the broker acknowledged/);
    await expect(hub.publishDesired("dev-9", desired(2))).rejects.toThrow(/closed/);
    broker = await startBroker(port);
  });

  it("drains: returns once every message acknowledged to devices before it was handled", async () => {
    // Slow handlers: the messages are still queued (or unread) when drain() starts.
    const { handlers } = recordingHandlers(() => new Promise((resolve) => setTimeout(resolve, 5)));
    let handled = 0;
    const hub = await link({
      handlers: {
        ...handlers,
        onTelemetry: async (deviceId, value, meta) => {
          await handlers.onTelemetry(deviceId, value, meta);
          handled++;
        },
      },
    });
    const dev = await device("dev-10");
    for (let seq = 0; seq < 40; seq++) await send(dev, deviceTopic("dev-10", "telemetry"), window(seq));
    await hub.drain();
    expect(handled).toBe(40);
  });

  it("gives up draining, with a warning, when the broker is gone", async () => {
    const memory = memoryLogger();
    const hub = await link({
      handlers: recordingHandlers().handlers,
      log: memory.log,
      reconnect: { initialMs: 50, maxMs: 100 },
    });
    const { port } = broker;
    await broker.close();
    await hub.drain(200);
    // Refused at once while offline, or cut short by the timeout: either way bounded and logged.
    const warned = [...memory.events("mqtt.link.drain_timeout"), ...memory.events("mqtt.link.drain_failed")];
    expect(warned).toHaveLength(1);
    broker = await startBroker(port);
  });

  it("rejects when the first connection is refused", async () => {
    const wrong = connectHubLink({
      url: broker.url,
      username: HUB_USERNAME,
      password: "wrong-secret",
      log: silentLogger,
      handlers: recordingHandlers().handlers,
    });
    await expect(wrong).rejects.toThrow(/cannot connect to MQTT broker/);
    const nobody = connectHubLink({
      url: "mqtt://127.0.0.1:1",
      log: silentLogger,
      handlers: recordingHandlers().handlers,
    });
    await expect(nobody).rejects.toThrow(/cannot connect to MQTT broker at mqtt:\/\/127\.0\.0\.1:1/);
  });
});

import type { MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/log.js";
import {
  closed,
  connectClient,
  endAll,
  nextMessage,
  recordMessages,
  subscribeGranted,
} from "../../test/support/mqtt-clients.js";
import { allDevicesTopic, deviceTopic } from "../../wire/topics.js";
import { type EmbeddedBroker, startEmbeddedBroker } from "./embedded.js";
import { HUB_USERNAME } from "./policy.js";

const HUB_SECRET = "hub-secret-for-tests-0123";
const SECRETS = new Map([
  ["dev-1", "secret-1"],
  ["dev-2", "secret-2"],
]);

let broker: EmbeddedBroker;
const clients: MqttClient[] = [];

async function track(client: Promise<MqttClient>): Promise<MqttClient> {
  const connected = await client;
  clients.push(connected);
  return connected;
}

const connectHub = (clientId = HUB_USERNAME) =>
  track(connectClient(broker.url, { clientId, username: HUB_USERNAME, password: HUB_SECRET }));
const connectDevice = (id: string, extra: Parameters<typeof connectClient>[1] = {}) =>
  track(connectClient(broker.url, { clientId: id, username: id, password: SECRETS.get(id) ?? "", ...extra }));

beforeAll(async () => {
  broker = await startEmbeddedBroker({
    host: "127.0.0.1",
    port: 0,
    hubSecret: HUB_SECRET,
    verifyDevice: async (id, secret) => SECRETS.get(id) === secret,
    log: silentLogger,
  });
});

afterEach(async () => {
  await endAll(clients.splice(0));
});

afterAll(async () => {
  await broker.close();
});

describe("embedded broker: connecting", () => {
  it("listens on a free port and reports it in its URL", () => {
    expect(broker.port).toBeGreaterThan(0);
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
  });

  it("refuses a device with the wrong secret in CONNACK", async () => {
    const attempt = connectClient(broker.url, { clientId: "dev-1", username: "dev-1", password: "wrong" });
    await expect(attempt).rejects.toMatchObject({ code: expect.toBeOneOf([4, 5]) });
  });

  it("refuses a device whose client id is not its username", async () => {
    const attempt = connectClient(broker.url, { clientId: "dev-2", username: "dev-1", password: "secret-1" });
    await expect(attempt).rejects.toMatchObject({ code: 2 });
  });

  it("refuses the hub username with the wrong secret", async () => {
    const attempt = connectClient(broker.url, {
      clientId: HUB_USERNAME,
      username: HUB_USERNAME,
      password: "nope",
    });
    await expect(attempt).rejects.toMatchObject({ code: 4 });
  });

  it("refuses a device whose will targets another device", async () => {
    const will = {
      topic: deviceTopic("dev-2", "status"),
      payload: Buffer.from("{}"),
      qos: 1 as const,
      retain: true,
    };
    const attempt = connectClient(broker.url, {
      clientId: "dev-1",
      username: "dev-1",
      password: "secret-1",
      will,
    });
    await expect(attempt).rejects.toMatchObject({ code: 5 });
  });

  it("counts connected clients", async () => {
    const before = broker.connectedClients();
    await connectDevice("dev-1");
    await connectHub();
    expect(broker.connectedClients()).toBe(before + 2);
  });

  it("fails with EADDRINUSE when the port is taken", async () => {
    const second = startEmbeddedBroker({
      host: "127.0.0.1",
      port: broker.port,
      hubSecret: HUB_SECRET,
      verifyDevice: async () => true,
      log: silentLogger,
    });
    await expect(second).rejects.toMatchObject({
      code: "EADDRINUSE",
      message: expect.stringContaining("in use"),
    });
  });

  it("refuses to start with a short hub secret", async () => {
    const attempt = startEmbeddedBroker({
      host: "127.0.0.1",
      port: 0,
      hubSecret: "short",
      verifyDevice: async () => true,
      log: silentLogger,
    });
    await expect(attempt).rejects.toThrow(/hub secret/);
  });
});

describe("embedded broker: device traffic", () => {
  it("delivers a device's messages to the hub", async () => {
    const hub = await connectHub();
    await hub.subscribeAsync(allDevicesTopic("telemetry"), { qos: 1 });
    const device = await connectDevice("dev-1");
    const arrived = nextMessage(hub, () => true);
    await device.publishAsync(deviceTopic("dev-1", "telemetry"), '{"seq":1}', { qos: 1 });
    const message = await arrived;
    expect(message.topic).toBe(deviceTopic("dev-1", "telemetry"));
    expect(message.payload.toString()).toBe('{"seq":1}');
  });

  it("grants 128 to a device subscribing to another device's desired, which it never receives", async () => {
    const device = await connectDevice("dev-1");
    const granted = await subscribeGranted(device, [
      deviceTopic("dev-2", "desired"),
      deviceTopic("dev-1", "desired"),
    ]);
    expect(granted).toEqual([128, 1]);
    const received = recordMessages(device);
    const hub = await connectHub();
    await hub.publishAsync(deviceTopic("dev-2", "desired"), "for dev-2", { qos: 1 });
    const own = nextMessage(device, (message) => message.topic === deviceTopic("dev-1", "desired"));
    await hub.publishAsync(deviceTopic("dev-1", "desired"), "for dev-1", { qos: 1 });
    await own;
    expect(received.map((message) => message.payload.toString())).toEqual(["for dev-1"]);
  });

  it("grants 128 to wildcard subscriptions outside the allowed ones", async () => {
    const device = await connectDevice("dev-1");
    const granted = await subscribeGranted(device, [
      "#",
      "edgefleet/v1/devices/+/desired",
      "edgefleet/v1/devices/dev-1/#",
      "edgefleet/v1/devices/dev-1/commands/#",
    ]);
    expect(granted).toEqual([128, 128, 128, 1]);
  });

  it("closes a device publishing to another device's status and delivers nothing to the hub", async () => {
    const hub = await connectHub();
    await hub.subscribeAsync(allDevicesTopic("status"), { qos: 1 });
    const received = recordMessages(hub);
    const intruder = await connectDevice("dev-1");
    const intruderClosed = closed(intruder);
    intruder.publish(deviceTopic("dev-2", "status"), '{"forged":true}', { qos: 0, retain: true });
    await intruderClosed;

    const honest = await connectDevice("dev-2");
    const own = nextMessage(hub, () => true);
    await honest.publishAsync(deviceTopic("dev-2", "status"), '{"own":true}', { qos: 1 });
    await own;
    expect(received.map((message) => message.payload.toString())).toEqual(['{"own":true}']);
  });

  it("refuses a device publishing to its own desired", async () => {
    const hub = await connectHub();
    await hub.subscribeAsync(allDevicesTopic("desired"), { qos: 1 });
    const received = recordMessages(hub);
    const device = await connectDevice("dev-1");
    const deviceClosed = closed(device);
    device.publish(deviceTopic("dev-1", "desired"), '{"self":true}', { qos: 0 });
    await deviceClosed;

    const marker = nextMessage(hub, () => true);
    await hub.publishAsync(deviceTopic("dev-1", "desired"), "from hub", { qos: 1 });
    await marker;
    expect(received.map((message) => message.payload.toString())).toEqual(["from hub"]);
  });

  it("delivers a device's last will to the hub when its socket dies", async () => {
    const hub = await connectHub();
    await hub.subscribeAsync(allDevicesTopic("status"), { qos: 1 });
    const will = {
      topic: deviceTopic("dev-1", "status"),
      payload: Buffer.from('{"online":false}'),
      qos: 1 as const,
      retain: true,
    };
    const device = await connectDevice("dev-1", { will });
    const offline = nextMessage(hub, (message) => message.payload.toString() === '{"online":false}');
    device.stream.destroy();
    const message = await offline;
    expect(message.topic).toBe(deviceTopic("dev-1", "status"));
    // Clear the retained will so later tests start clean.
    await hub.publishAsync(deviceTopic("dev-1", "status"), "", { qos: 1, retain: true });
  });

  it("does not let a refused device take over the session of a connected one", async () => {
    const device = await connectDevice("dev-1");
    const attempt = connectClient(broker.url, { clientId: "dev-1", username: "dev-2", password: "secret-2" });
    await expect(attempt).rejects.toMatchObject({ code: 2 });
    expect(device.connected).toBe(true);
  });
});

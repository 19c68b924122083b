/**
 * The hub link against an external broker: Mosquitto at 127.0.0.1:1883 with anonymous access, when
 * one answers. Mosquitto there keeps retained messages and sessions across runs, so every id is
 * unique to the run and everything created is cleared afterwards.
 */
import { randomBytes } from "node:crypto";
import { createConnection } from "node:net";
import type { MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/log.js";
import { desired, recordingHandlers, status, window } from "../../test/support/device-messages.js";
import { connectClient, endAll, nextMessage } from "../../test/support/mqtt-clients.js";
import type { TelemetryWindow } from "../../wire/messages.js";
import { deviceTopic } from "../../wire/topics.js";
import { connectHubLink, type HubLink } from "./hub-link.js";

/** True when something accepts TCP connections at host:port within the timeout. */
function answers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const finish = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}

const MOSQUITTO_URL = "mqtt://127.0.0.1:1883";
const mosquittoUp = await answers("127.0.0.1", 1883, 1_000);
if (!mosquittoUp)
  console.warn(`hub-link.test: no broker answers at ${MOSQUITTO_URL}; skipping the Mosquitto tests`);

describe.skipIf(!mosquittoUp)("hub link on Mosquitto (127.0.0.1:1883, anonymous)", () => {
  // Mosquitto here keeps retained messages and sessions across runs: unique ids, and clean up after.
  const run = randomBytes(4).toString("hex");
  const hubClientId = `edgefleet-hub-test-${run}`;
  const deviceId = (name: string) => `t-${run}-${name}`;
  const clients: MqttClient[] = [];
  let hub: HubLink | undefined;
  // Uneven async work per message, so a queue that did not serialise per device would reorder.
  const recorder = recordingHandlers(async (_deviceId, received) => {
    for (let i = 0; i < received.seq % 4; i++) await new Promise((resolve) => setImmediate(resolve));
  });

  const anonymous = async (clientId: string) => {
    const client = await connectClient(MOSQUITTO_URL, { clientId });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    hub = await connectHubLink({
      url: MOSQUITTO_URL,
      clientId: hubClientId,
      log: silentLogger,
      handlers: recorder.handlers,
    });
  });
  afterEach(async () => {
    await endAll(clients.splice(0));
  });
  afterAll(async () => {
    await hub?.close();
    // Drop the hub's persistent session so Mosquitto does not queue for it forever.
    const cleaner = await connectClient(MOSQUITTO_URL, { clientId: hubClientId, clean: true });
    await cleaner.endAsync();
  });

  it("publishes desired retained for a device that connects later", async () => {
    const id = deviceId("late");
    await hub!.publishDesired(id, desired(9));
    const dev = await anonymous(id);
    const retained = nextMessage(dev, () => true);
    await dev.subscribeAsync(deviceTopic(id, "desired"), { qos: 1 });
    const message = await retained;
    expect(message.retain).toBe(true);
    expect(JSON.parse(message.payload.toString())).toEqual(desired(9));
    await hub!.clearDesired(id);
  });

  it("drops invalid payloads and delivers valid ones after them", async () => {
    const id = deviceId("valid");
    const dev = await anonymous(id);
    await dev.publishAsync(deviceTopic(id, "telemetry"), "{ nope", { qos: 1 });
    await dev.publishAsync(deviceTopic(id, "telemetry"), JSON.stringify(window(3)), { qos: 1 });
    const calls = await recorder.until((call) => call.deviceId === id);
    expect(calls).toEqual([{ kind: "telemetry", deviceId: id, value: window(3) }]);
  });

  it("keeps one device's order", async () => {
    const id = deviceId("order");
    const dev = await anonymous(id);
    const count = 20;
    await Promise.all(
      Array.from({ length: count }, (_, seq) =>
        dev.publishAsync(deviceTopic(id, "telemetry"), JSON.stringify(window(seq)), { qos: 1 }),
      ),
    );
    const calls = await recorder.until((call) => call.deviceId === id, count);
    expect(calls.map((call) => (call.value as TelemetryWindow).seq)).toEqual(
      Array.from({ length: count }, (_, i) => i),
    );
  });

  it("hands a retained status to onStatus and forgets it once cleared", async () => {
    const id = deviceId("status");
    const dev = await anonymous(id);
    await dev.publishAsync(deviceTopic(id, "status"), JSON.stringify(status(true)), { qos: 1, retain: true });
    const [call] = await recorder.until((c) => c.deviceId === id && c.kind === "status");
    expect(call?.value).toEqual(status(true));
    await dev.publishAsync(deviceTopic(id, "status"), "", { qos: 1, retain: true });
  });
});

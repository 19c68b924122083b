/** MQTT link against a real aedes broker: credentials, birth and will, refusal back-off, desired validation. */
import { createServer, type Server } from "node:net";
import { Aedes } from "aedes";
import mqtt, { type MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../lib/log.js";
import { memoryLogger } from "../test/support/memory-log.js";
import { waitFor } from "../test/support/wait.js";
import type { Status } from "../wire/messages.js";
import { deviceTopic } from "../wire/topics.js";
import { MqttLink } from "./mqtt-link.js";

interface Broker {
  url: string;
  connects: Array<{ clientId: string; username: string | undefined; password: string | undefined }>;
  close(): Promise<void>;
}

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

async function startBroker(acceptPassword?: string): Promise<Broker> {
  const connects: Broker["connects"] = [];
  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      connects.push({ clientId: client.id, username, password: password?.toString() });
      // Test observers connect without credentials; devices must bring the right password.
      if (acceptPassword === undefined || username === undefined || password?.toString() === acceptPassword) {
        return done(null, true);
      }
      done(Object.assign(new Error("bad credentials"), { returnCode: 4 }) as never, false);
    },
  });
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
  const close = async () => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  closers.push(close);
  return { url, connects, close };
}

async function watcher(url: string, deviceId: string): Promise<{ client: MqttClient; statuses: Status[] }> {
  const client = await mqtt.connectAsync(url, { clientId: `watch-${deviceId}`, protocolVersion: 4 });
  closers.push(() => client.endAsync());
  const statuses: Status[] = [];
  client.on("message", (_topic, payload) => statuses.push(JSON.parse(payload.toString())));
  await client.subscribeAsync(deviceTopic(deviceId, "status"), { qos: 1 });
  return { client, statuses };
}

/** Waits for `check` to hold; the message names the condition when it never does. */
function until<T>(check: () => T | undefined | false): Promise<T> {
  return waitFor(check.toString(), async () => check(), 20_000, 20);
}

function startLink(url: string, deviceId: string, secret: string, log = silentLogger) {
  const desired: unknown[] = [];
  const link = new MqttLink({
    url,
    deviceId,
    secret,
    log,
    birth: () => ({ agentVersion: "9.9.9", scoringUrl: "http://127.0.0.1:1" }),
    onDesired: (value) => desired.push(value),
    reconnect: { baseMs: 10, maxMs: 200, authRefusedBaseMs: 20 },
  });
  closers.push(() => link.stop());
  return { link, desired };
}

describe("MqttLink", () => {
  it("connects as the device, publishes a retained birth and a retained offline status on stop", async () => {
    const broker = await startBroker("pw");
    const { statuses } = await watcher(broker.url, "dev-a");
    const { link } = startLink(broker.url, "dev-a", "pw");
    await until(() => statuses.some((s) => s.online));
    expect(broker.connects.find((c) => c.clientId === "dev-a")).toEqual({
      clientId: "dev-a",
      username: "dev-a",
      password: "pw",
    });
    expect(statuses[0]).toMatchObject({ online: true, agentVersion: "9.9.9", protocol: 1 });
    await link.stop();
    await until(() => statuses.some((s) => !s.online));
  });

  it("backs off with growing delays when the broker refuses the credentials", async () => {
    const broker = await startBroker("right");
    const memory = memoryLogger();
    startLink(broker.url, "dev-b", "wrong", memory.log);
    await until(() => memory.events("mqtt.reconnect_scheduled").length >= 4);
    expect(memory.events("mqtt.auth_refused").length).toBeGreaterThan(0);
    const delays = memory.events("mqtt.reconnect_scheduled").map((e) => e.delayMs as number);
    expect(delays.slice(0, 4)).toEqual([20, 40, 80, 160]);
    expect(JSON.stringify(memory.entries)).not.toContain("wrong");
  });

  it("hands valid desired states over and reports invalid ones as events", async () => {
    const broker = await startBroker();
    const hub = await mqtt.connectAsync(broker.url, { clientId: "hub", protocolVersion: 4 });
    closers.push(() => hub.endAsync());
    const events: Array<{ kind: string }> = [];
    hub.on("message", (_t, payload) => events.push(JSON.parse(payload.toString())));
    await hub.subscribeAsync(deviceTopic("dev-c", "events"), { qos: 1 });
    const { link, desired } = startLink(broker.url, "dev-c", "x");
    await until(() => link.connected);
    await hub.publishAsync(deviceTopic("dev-c", "desired"), "not json", { qos: 1 });
    const valid = { protocol: 1, revision: 3, issuedAt: new Date().toISOString(), modules: [] };
    await hub.publishAsync(deviceTopic("dev-c", "desired"), JSON.stringify(valid), { qos: 1, retain: true });
    await until(() => desired.length === 1 && events.length === 1);
    expect(desired[0]).toEqual(valid);
    expect(events[0]).toMatchObject({ kind: "desired.invalid" });
  });
});

/**
 * Defect 7 (issue 14): an acknowledged message is a stored message. Devices publish telemetry
 * windows back to back (QoS 1) to a hub process on the embedded broker; the hub is SIGKILLed while
 * they do. Once it is back on the same data folder, every window a device received a PUBACK for is
 * stored. Before, aedes acknowledged on receipt and the hub stored later (its link's queue, the
 * telemetry writer's 500 ms buffer), so the last windows before a kill were acknowledged and lost.
 */
import { rm } from "node:fs/promises";
import type { MqttClient } from "mqtt";
import { afterAll, describe, expect, it } from "vitest";
import { deviceTopic } from "../../wire/topics.js";
import { moduleWindow } from "../support/device-messages.js";
import {
  type HubProcess,
  type HubProcessPlace,
  hubProcessPlace,
  startHubProcess,
} from "../support/hub-process.js";
import { connectClient } from "../support/mqtt-clients.js";
import { waitFor } from "../support/wait.js";

const DEVICES = ["ack-1", "ack-2", "ack-3"];
let place: HubProcessPlace | undefined;
let hub: HubProcess | undefined;
const clients: MqttClient[] = [];

afterAll(async () => {
  for (const client of clients) client.end(true);
  await hub?.stop("SIGKILL");
  if (place) await rm(place.dataDir, { recursive: true, force: true });
});

const window = (seq: number) =>
  moduleWindow(
    seq,
    { name: "acked", version: "1.0.0" },
    1,
    new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(),
  );

/** Publishes windows 1, 2, … until the connection fails; records the seq of each PUBACK. */
async function publishUntilCut(client: MqttClient, deviceId: string, acknowledged: number[]): Promise<void> {
  for (let seq = 1; ; seq++) {
    const sent = await client
      .publishAsync(deviceTopic(deviceId, "telemetry"), JSON.stringify(window(seq)), { qos: 1 })
      .then(
        () => true,
        () => false,
      );
    if (!sent || !client.connected) return;
    acknowledged.push(seq);
  }
}

describe("hub SIGKILL with the embedded broker", () => {
  it("has stored every telemetry window it acknowledged", async () => {
    place = await hubProcessPlace();
    hub = await startHubProcess(place);
    const acknowledged = new Map<string, number[]>();
    const publishers: Promise<void>[] = [];
    for (const id of DEVICES) {
      const { secret } = await hub.client.post<{ secret: string }>("/api/v1/devices", { id });
      const client = await connectClient(hub.mqttUrl, {
        clientId: id,
        username: id,
        password: secret,
        reconnectPeriod: 0,
      });
      clients.push(client);
      acknowledged.set(id, []);
      publishers.push(publishUntilCut(client, id, acknowledged.get(id)!));
    }
    const total = () => [...acknowledged.values()].reduce((sum, seqs) => sum + seqs.length, 0);
    // Publishing is under way on every device when the hub dies.
    while (total() < 150 || [...acknowledged.values()].some((seqs) => seqs.length < 20))
      await new Promise((resolve) => setTimeout(resolve, 5));
    await hub.stop("SIGKILL");
    // A publish left without an answer when the connection went never settles; the acks are in.
    await waitFor("every device to see its connection go", async () => clients.every((c) => !c.connected));
    void publishers;

    hub = await startHubProcess(place);
    for (const id of DEVICES) {
      const { windows } = await hub.client.get<{ windows: { seq: number }[] }>(
        `/api/v1/telemetry?device=${id}&limit=10000`,
      );
      const stored = new Set(windows.map((w) => w.seq));
      const lost = acknowledged.get(id)!.filter((seq) => !stored.has(seq));
      expect({ id, lost }).toEqual({ id, lost: [] });
    }
  });
});

/**
 * Defect 2 (issue 12): one device's message must not break another's. Device reports are written
 * by group commit, many devices per statement; a schema-valid report with a NUL (which jsonb
 * refuses) used to fail the whole batch, so another device's valid report in the same batch was
 * lost (6 of 10 rounds). With a real hub and its embedded broker, a poisoning device and a valid
 * one publish in the same batch window, beside a few others that keep the group commit busy:
 * every valid report is stored, and the hub counts the refused one.
 */
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReportedState } from "../../wire/messages.js";
import { deviceTopic } from "../../wire/topics.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { closed, connectClient, endAll } from "../support/mqtt-clients.js";

const ROUNDS = 10;
const POISONER = "iso-poison";
const VALID = "iso-valid";
const BUSY = ["iso-busy-1", "iso-busy-2", "iso-busy-3", "iso-busy-4"];

let hub: TestHub;
const secrets = new Map<string, string>();
const clients = new Map<string, MqttClient>();

beforeAll(async () => {
  hub = await startTestHub();
  for (const id of [POISONER, VALID, ...BUSY]) {
    const { secret } = await hub.client.post<{ secret: string }>("/api/v1/devices", { id });
    secrets.set(id, secret);
  }
});

afterAll(async () => {
  await endAll([...clients.values()]);
  await hub?.dispose();
});

/** The device's connection, opened again when the hub closed it (as it does on a failed store). */
async function clientOf(id: string): Promise<MqttClient> {
  const open = clients.get(id);
  if (open?.connected) return open;
  const client = await connectClient(hub.mqttUrl, { clientId: id, username: id, password: secrets.get(id)! });
  clients.set(id, client);
  return client;
}

const report = (revision: number, error?: string): ReportedState => ({
  protocol: 1,
  revision,
  modules: [
    {
      name: "m",
      version: "1.0.0",
      state: "failed",
      since: "2025-03-01T11:00:00.000Z",
      ...(error ? { error } : {}),
    },
  ],
  at: new Date().toISOString(),
});

/** Publishes a report; resolves true on PUBACK (stored), false when the hub closed the connection. */
async function publishReport(id: string, value: ReportedState): Promise<boolean> {
  const client = await clientOf(id);
  const acked = client
    .publishAsync(deviceTopic(id, "reported"), JSON.stringify(value), { qos: 1 })
    .then(() => true);
  return Promise.race([acked, closed(client).then(() => false)]);
}

async function refusedReports(): Promise<number> {
  const text = await hub.parts.metrics.text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith('edgefleet_hub_mqtt_messages_dropped_total{kind="reported",reason="invalid"}'));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

describe("a report the database cannot store", () => {
  it("costs no other device its report, and is refused and counted", async () => {
    const lost: number[] = [];
    const refusedBefore = await refusedReports();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const id of [POISONER, VALID, ...BUSY]) await clientOf(id);
      // All at once: the busy devices' reports start a write, the rest share the next batch.
      const outcomes = await Promise.all([
        ...BUSY.map((id) => publishReport(id, report(round))),
        publishReport(POISONER, report(round, `broken \u0000 reply`)),
        publishReport(VALID, report(round)),
      ]);
      const device = await hub.client.get<{ reported: ReportedState | null }>(`/api/v1/devices/${VALID}`);
      if (!outcomes.at(-1) || device.reported?.revision !== round) lost.push(round);
    }
    expect({ lost }).toEqual({ lost: [] });
    expect(await refusedReports()).toBe(refusedBefore + ROUNDS);
    const poisoner = await hub.client.get<{ reported: ReportedState | null }>(`/api/v1/devices/${POISONER}`);
    expect(poisoner.reported).toBeNull();
  });
});

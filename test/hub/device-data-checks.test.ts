/**
 * Defect 11 (issue 12): device data is checked before it is stored. Telemetry with more errors
 * than requests, a latency sum of 1e308 or a window ending before it starts was stored as sent and
 * fed gates and monitors; 1,000 events from one device were all stored. With a real hub and its
 * embedded broker: every violation is refused and counted for its device by reason (device view and
 * /metrics), the same device's valid data is still stored, and an event flood meets its quota while
 * another device's events are all stored.
 */
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeviceEvent, ModuleWindow, TelemetryWindow } from "../../wire/messages.js";
import { deviceTopic } from "../../wire/topics.js";
import { moduleWindow } from "../support/device-messages.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { connectClient, endAll } from "../support/mqtt-clients.js";

let hub: TestHub;
const clients: MqttClient[] = [];

beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await endAll(clients);
  await hub?.dispose();
});

async function device(id: string): Promise<MqttClient> {
  const { secret } = await hub.client.post<{ secret: string }>("/api/v1/devices", { id });
  const client = await connectClient(hub.mqttUrl, { clientId: id, username: id, password: secret });
  clients.push(client);
  return client;
}

/** Publishes with QoS 1: the embedded broker acknowledges once the hub stored or refused it. */
const publish = (client: MqttClient, id: string, kind: "telemetry" | "events", value: unknown) =>
  client.publishAsync(deviceTopic(id, kind), JSON.stringify(value), { qos: 1 });

interface Refusals {
  total: number;
  byReason: Record<string, number>;
  last: { kind: string; reason: string; detail: string } | null;
}
const refusalsOf = async (id: string) =>
  (await hub.client.get<{ refusals: Refusals }>(`/api/v1/devices/${id}`)).refusals;

const AT = "2026-01-01T00:00:00.000Z";
const LATER = "2026-01-01T00:01:00.000Z";

/** A valid one-module window with `requests` requests, changed by `change`. */
function windowWith(seq: number, change: (module: ModuleWindow) => Partial<ModuleWindow> = () => ({})) {
  const base = moduleWindow(seq, { name: "m", version: "1.0.0" }, 10, AT);
  const module = base.modules[0]!;
  return { ...base, windowEnd: LATER, modules: [{ ...module, ...change(module) }] } satisfies TelemetryWindow;
}

const event = (message: string): DeviceEvent => ({ protocol: 1, at: AT, kind: "module.failed", message });

describe("device data checks", () => {
  it("refuses and counts each invariant violation, and still stores the device's valid data", async () => {
    const id = "checked-1";
    const client = await device(id);
    const farFuture = new Date(Date.now() + 3 * 24 * 3600_000).toISOString();
    const invariants: TelemetryWindow[] = [
      windowWith(1, () => ({ errors: 11 })),
      windowWith(2, () => ({ latencySumMs: 1e308 })),
      { ...windowWith(3), windowStart: LATER, windowEnd: AT },
      { ...windowWith(4), windowStart: farFuture, windowEnd: farFuture },
      windowWith(5, (m) => ({ latencyCounts: m.latencyCounts.map(() => 10) })),
      windowWith(6, () => ({
        inputs: [{ name: "f", count: 10, missing: 0, min: 5, max: 1, sum: 30, sumSquares: 90 }],
      })),
      windowWith(7, () => ({ requests: 0, errors: 0, latencyCounts: [], latencySumMs: 3 })),
      windowWith(8, () => ({ labelled: 2, correct: 3 })),
    ];
    for (const window of invariants) await publish(client, id, "telemetry", window);
    const tooLarge = [
      { ...windowWith(9), modules: Array.from({ length: 65 }, () => windowWith(9).modules[0]!) },
      windowWith(10, () => ({ name: "m".repeat(5000) })),
    ];
    for (const window of tooLarge) await publish(client, id, "telemetry", window);
    await publish(client, id, "events", event("x".repeat(5000)));
    await publish(client, id, "events", { ...event("late"), at: farFuture });
    // Valid data from the same device, after all that.
    await publish(client, id, "telemetry", windowWith(20));
    await publish(client, id, "events", event("valid"));

    const refusals = await refusalsOf(id);
    expect(refusals.byReason).toEqual({ invariant: invariants.length + 1, "too-large": tooLarge.length + 1 });
    expect(refusals.total).toBe(invariants.length + tooLarge.length + 2);
    expect(refusals.last).toMatchObject({ kind: "events", reason: "invariant" });
    const { windows } = await hub.client.get<{ windows: { seq: number }[] }>(
      `/api/v1/telemetry?device=${id}`,
    );
    expect(windows.map((w) => w.seq)).toEqual([20]);
    const { events } = await hub.client.get<{ events: { message: string }[] }>(`/api/v1/events?device=${id}`);
    expect(events.map((e) => e.message)).toEqual(["valid"]);
    const metrics = await hub.parts.metrics.text();
    expect(metrics).toContain(
      'edgefleet_hub_device_messages_refused_total{kind="telemetry",reason="invariant"} 8',
    );
    expect(metrics).toContain(
      'edgefleet_hub_device_messages_refused_total{kind="events",reason="too-large"} 1',
    );
  });

  it("holds a device that floods its events to its quota; another device's events are all stored", async () => {
    const flooder = "flood-1";
    const neighbour = "calm-1";
    const [floodClient, calmClient] = [await device(flooder), await device(neighbour)];
    const flood = Array.from({ length: 1000 }, (_, i) =>
      publish(floodClient, flooder, "events", event(`f${i}`)),
    );
    const calm = Array.from({ length: 20 }, (_, i) =>
      publish(calmClient, neighbour, "events", event(`c${i}`)),
    );
    await Promise.all([...flood, ...calm]);

    const count = async (id: string) =>
      (await hub.client.get<{ events: unknown[] }>(`/api/v1/events?device=${id}&limit=1000`)).events.length;
    const stored = await count(flooder);
    const refusals = await refusalsOf(flooder);
    // 300 a minute (the default) as burst, plus what refilled while the flood was sent.
    expect(stored).toBeGreaterThanOrEqual(300);
    expect(stored).toBeLessThan(1000);
    expect(refusals.byReason).toEqual({ quota: 1000 - stored });
    expect(await count(neighbour)).toBe(20);
    expect((await refusalsOf(neighbour)).total).toBe(0);
  });
});

/**
 * A hub shutting down loses nothing the embedded broker acknowledged: a real MQTT device publishes
 * telemetry windows back to back (QoS 1) while the hub closes; once the hub is back on the same data
 * folder, every window whose PUBACK the device received is stored. Without the drain (devices cut
 * off first, then a round trip through the broker before the hub's link goes), windows acknowledged
 * in the moments between the link's close and the broker's were dropped with the broker's memory.
 */
import { afterAll, describe, expect, it } from "vitest";
import { deviceTopic } from "../../wire/topics.js";
import { moduleWindow } from "../support/device-messages.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { connectClient } from "../support/mqtt-clients.js";
import { waitFor } from "../support/wait.js";

let hub: TestHub | undefined;

afterAll(async () => {
  await hub?.dispose();
});

const window = (seq: number) =>
  moduleWindow(
    seq,
    { name: "drain", version: "1.0.0" },
    1,
    new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(),
  );

describe("hub shutdown with the embedded broker", () => {
  it("stores every telemetry window the broker acknowledged before it went down", async () => {
    const first = await startTestHub({ keepData: true });
    hub = first;
    const { secret } = await first.client.post<{ secret: string }>("/api/v1/devices", { id: "drain-1" });
    const device = await connectClient(first.mqttUrl, {
      clientId: "drain-1",
      username: "drain-1",
      password: secret,
    });
    const acknowledged: number[] = [];
    let publishing = true;
    const publisher = (async () => {
      for (let seq = 1; publishing; seq++) {
        const sent = await device
          .publishAsync(deviceTopic("drain-1", "telemetry"), JSON.stringify(window(seq)), { qos: 1 })
          .then(
            () => true,
            () => false,
          );
        if (!sent) return;
        acknowledged.push(seq);
      }
    })();
    // Publishing is under way (hundreds a second) when the hub closes.
    await waitFor("200 acknowledged publishes", async () => acknowledged.length >= 200, 30_000, 10);
    await first.close();
    publishing = false;
    // A publish left without an answer when the connection went is not waited for.
    await Promise.race([publisher, new Promise((resolve) => setTimeout(resolve, 1000))]);
    device.end(true);

    hub = await startTestHub({ dataDir: first.dataDir, keepData: false });
    const { windows } = await hub.client.get<{ windows: { seq: number }[] }>(
      "/api/v1/telemetry?device=drain-1&limit=10000",
    );
    const stored = new Set(windows.map((w) => w.seq));
    const lost = acknowledged.filter((seq) => !stored.has(seq));
    expect(acknowledged.length).toBeGreaterThan(200);
    expect(lost).toEqual([]);
  });
});

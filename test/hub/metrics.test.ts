/**
 * The hub's Prometheus `/metrics` on a real hub with its embedded broker: a viewer token scrapes,
 * no token or a device's credentials are refused; HTTP requests are counted by route template, the
 * device messages a real MQTT device sent by kind (and the invalid one as dropped), database
 * statements timed, deployments and runs by status, and telemetry rows written.
 */
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deviceTopic } from "../../wire/topics.js";
import { moduleWindow, status } from "../support/device-messages.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { connectClient } from "../support/mqtt-clients.js";
import { waitFor } from "../support/wait.js";

let hub: TestHub;
let device: MqttClient;
let deviceSecret: string;
let viewerToken: string;

beforeAll(async () => {
  hub = await startTestHub();
  viewerToken = (
    await hub.client.post<{ token: string }>("/api/v1/tokens", { name: "scraper", role: "viewer" })
  ).token;
  deviceSecret = (await hub.client.post<{ secret: string }>("/api/v1/devices", { id: "metrics-1" })).secret;
  device = await connectClient(hub.mqttUrl, {
    clientId: "metrics-1",
    username: "metrics-1",
    password: deviceSecret,
  });
});

afterAll(async () => {
  device?.end(true);
  await hub?.dispose();
});

const scrape = (headers: Record<string, string> = { authorization: `Bearer ${viewerToken}` }) =>
  fetch(`${hub.url}/metrics`, { headers });

/** The value of one series (name and exact label set as exposed), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("hub /metrics", () => {
  it("refuses a scrape without a token and from a device", async () => {
    const anonymous = await scrape({});
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    const asDevice = await scrape({
      authorization: `Basic ${Buffer.from(`metrics-1:${deviceSecret}`).toString("base64")}`,
    });
    expect(asDevice.status).toBe(403);
  });

  it("counts HTTP requests by route template, never by raw path", async () => {
    await hub.client.get("/api/v1/devices/metrics-1");
    await fetch(`${hub.url}/api/v1/no/such/route`, { headers: { authorization: `Bearer ${viewerToken}` } });
    const response = await scrape();
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(
      sample(
        text,
        'edgefleet_hub_http_requests_total{method="GET",route="/api/v1/devices/:id",status="200"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(text).toContain('route="(unmatched)",status="404"');
    expect(text).not.toContain("metrics-1");
    expect(text).not.toContain("/no/such/route");
    expect(text).toContain(
      'edgefleet_hub_http_request_duration_seconds_bucket{le="0.0005",method="GET",route="/api/v1/devices/:id"}',
    );
    // Process metrics through the shared exposition (lib/prometheus.ts).
    expect(text).toContain("edgefleet_hub_process_cpu_seconds_total");
  });

  it("counts device messages in by kind, the dropped ones, publishes out and telemetry rows stored", async () => {
    const topic = deviceTopic("metrics-1", "telemetry");
    await device.publishAsync(deviceTopic("metrics-1", "status"), JSON.stringify(status(true)), { qos: 1 });
    for (let seq = 1; seq <= 3; seq++)
      await device.publishAsync(
        topic,
        JSON.stringify(moduleWindow(seq, { name: "m", version: "1.0.0" }, 5)),
        {
          qos: 1,
        },
      );
    await device.publishAsync(topic, "{not json", { qos: 1 });
    const text = await waitFor("three telemetry rows written", async () => {
      const body = await (await scrape()).text();
      return (sample(body, "edgefleet_hub_telemetry_rows_written_total") ?? 0) >= 3 ? body : undefined;
    });
    expect(sample(text, 'edgefleet_hub_mqtt_messages_received_total{kind="telemetry"}')).toBe(3);
    expect(sample(text, 'edgefleet_hub_mqtt_messages_received_total{kind="status"}')).toBe(1);
    expect(sample(text, 'edgefleet_hub_mqtt_messages_dropped_total{kind="telemetry",reason="invalid"}')).toBe(
      1,
    );
    expect(sample(text, "edgefleet_hub_mqtt_handler_queue_depth")).toBeGreaterThanOrEqual(0);
    expect(sample(text, "edgefleet_hub_db_query_duration_seconds_count")).toBeGreaterThan(0);
  });

  it("counts the embedded broker's refusals", async () => {
    await connectClient(hub.mqttUrl, {
      clientId: "metrics-1",
      username: "metrics-1",
      password: "wrong",
      reconnectPeriod: 0,
    }).then(
      (client) => client.end(true),
      () => undefined,
    );
    const text = await (await scrape()).text();
    expect(sample(text, 'edgefleet_hub_mqtt_broker_refusals_total{action="connect"}')).toBeGreaterThanOrEqual(
      1,
    );
  });

  it("reports runs by status from the database", async () => {
    const text = await (await scrape()).text();
    // No run or deployment yet: the gauges exist with no series.
    expect(text).toContain("# TYPE edgefleet_hub_runs gauge");
    expect(text).toContain("# TYPE edgefleet_hub_deployments gauge");
  });
});

/**
 * Drift monitors on a real hub (PGlite, the embedded broker run by this test so it can also listen as
 * a hub-side integration): devices are real MQTT clients publishing telemetry windows with drift
 * summaries; a trained model's baseline gives the module its monitoring section. Reference-like
 * windows raise nothing; shifted ones raise one alert, delivered over MQTT and to a real local
 * webhook server that fails once (retry); bad definitions are refused and leave nothing behind.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Monitoring } from "../../drift-summary/monitoring.js";
import { type EmbeddedBroker, startEmbeddedBroker } from "../../hub/broker/embedded.js";
import { monitoringFromBaseline } from "../../hub/monitors/from-baseline.js";
import { HubApiError } from "../../hub-api/client.js";
import { silentLogger } from "../../lib/log.js";
import { datasetFromRows } from "../../training/dataset/dataset.js";
import { separableBinary } from "../../training/synthetic.js";
import { train } from "../../training/train.js";
import { ALERTS_TOPIC_ROOT, alertTopic, deviceTopic } from "../../wire/topics.js";
import { driftWindow, summaryFor } from "../support/drift-windows.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { connectClient, endAll, nextMessage, subscribeGranted } from "../support/mqtt-clients.js";
import { waitFor } from "../support/wait.js";

const HUB_SECRET = "monitors-test-hub-secret-0123456789";
const MODULE = { name: "churn", version: "1.0.0" };

let hub: TestHub;
let broker: EmbeddedBroker;
let spec: Monitoring;
let webhook: Server;
let webhookUrl: string;
const posts: { id: string | undefined; body: Record<string, unknown> }[] = [];
const devices: { id: string; client: MqttClient }[] = [];
let listener: MqttClient;
let seq = 0;

async function refused(call: Promise<unknown>, status: number, pattern: RegExp): Promise<void> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HubApiError);
  expect((error as HubApiError).status).toBe(status);
  expect((error as HubApiError).message).toMatch(pattern);
}

async function publishWindows(shift: string[] | undefined, rows = 150): Promise<void> {
  seq++;
  for (const [index, device] of devices.entries()) {
    const drift = summaryFor(spec, rows, {
      seed: seq * 100 + index,
      shift,
      at: new Date(Date.UTC(2026, 0, 1, 0, seq)),
    });
    await device.client.publishAsync(
      deviceTopic(device.id, "telemetry"),
      JSON.stringify(driftWindow(seq, MODULE, drift)),
      {
        qos: 1,
      },
    );
  }
  const store = hub.parts.drift.store;
  await waitFor("summaries stored", async () => {
    const stored = await Promise.all(devices.map((d) => store.data.summaries({ deviceId: d.id, limit: 1 })));
    return stored.every((s) => s[0]?.seq === seq);
  });
}

async function monitorCount(): Promise<number> {
  return (await hub.client.get<{ monitors: unknown[] }>("/api/v1/monitors")).monitors.length;
}

beforeAll(async () => {
  webhook = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      posts.push({
        id: request.headers["x-edgefleet-alert-id"] as string | undefined,
        body: JSON.parse(body),
      });
      // The first delivery fails: the notifier must retry.
      response.writeHead(posts.length === 1 ? 503 : 204).end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, "127.0.0.1", resolve));
  webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;

  broker = await startEmbeddedBroker({
    host: "127.0.0.1",
    port: 0,
    hubSecret: HUB_SECRET,
    verifyDevice: (id, secret) => hub.parts.repos.devices.verifySecret(id, secret),
    log: silentLogger,
  });
  const brokerUrl = new URL(broker.url);
  brokerUrl.username = "edgefleet-hub";
  brokerUrl.password = HUB_SECRET;
  // The test's webhook receiver is on loopback, which webhooks may reach only when allowed.
  hub = await startTestHub({ mqttUrl: brokerUrl.toString(), webhookAllow: ["127.0.0.1/32"] });
  listener = await connectClient(broker.url, {
    clientId: "edgefleet-hub-listener",
    username: "edgefleet-hub",
    password: HUB_SECRET,
  });
  await listener.subscribeAsync(`${ALERTS_TOPIC_ROOT}/#`, { qos: 1 });

  const dataset = datasetFromRows(separableBinary(300, 11), { target: "label", task: "classification" });
  const trained = await train({
    dataset,
    task: "classification",
    target: "label",
    recipe: "logistic",
    seed: 1,
  });
  spec = monitoringFromBaseline(trained.baseline, { samples: { allowed: true } });
  const model = await hub.client.request<{ version: number }>(
    "POST",
    "/api/v1/models/churn/versions",
    trained.onnx,
  );
  const module = (version: string, monitoring?: Monitoring) =>
    hub.client.post("/api/v1/modules", {
      name: MODULE.name,
      version,
      model: { name: "churn", version: model.version },
      preprocessing: { kind: "tabular", input: "features", features: trained.moduleFeatures },
      postprocessing: {
        kind: "argmax",
        output: "probabilities",
        labels: trained.classes,
        applySoftmax: false,
      },
      ...(monitoring ? { monitoring } : {}),
    });
  await module(MODULE.version, spec);
  await module("0.9.0");

  for (const id of ["drift-a", "drift-b"]) {
    const { secret } = await hub.client.post<{ secret: string }>("/api/v1/devices", {
      id,
      tags: { fleet: "drift" },
    });
    devices.push({
      id,
      client: await connectClient(broker.url, { clientId: id, username: id, password: secret }),
    });
  }
}, 120_000);

afterAll(async () => {
  await endAll([listener, ...devices.map((d) => d.client)].filter(Boolean));
  await hub?.dispose();
  await broker?.close();
  await new Promise((resolve) => webhook?.close(resolve));
});

const definition = {
  name: "churn-inputs",
  module: MODULE.name,
  version: MODULE.version,
  selector: { tags: { fleet: "drift" } },
  scales: [1, 4],
  minRows: 100,
  intervalMs: 3_600_000,
};

describe("drift monitors", () => {
  it("refuses bad definitions and stores nothing", async () => {
    const before = await monitorCount();
    const post = (body: Record<string, unknown>) =>
      hub.client.post("/api/v1/monitors", { ...definition, ...body });
    await refused(post({ version: "2.0.0" }), 404, /churn@2.0.0 not found/);
    await refused(post({ version: "0.9.0" }), 400, /no monitoring section/);
    await refused(post({ selector: { tags: { fleet: "nowhere" } } }), 400, /matches no devices/);
    await refused(post({ alpha: 0 }), 400, /alpha/);
    await refused(post({ scales: [4, 4] }), 400, /distinct/);
    await refused(post({ webhook: { url: "ftp://example.com/x" } }), 400, /http/);
    // Only 127.0.0.1 is allowed here: other loopback, metadata, private and link-local targets are not.
    for (const url of [
      "http://169.254.169.254/latest/meta-data/",
      "http://127.0.0.2:9/hook",
      "http://[::1]:9/hook",
      "http://[::ffff:169.254.169.254]/hook",
      "http://192.168.1.10/hook",
      "http://[fe80::1]/hook",
    ]) {
      await refused(
        post({ webhook: { url } }),
        400,
        /which webhooks may not reach; allow it with EDGEFLEET_WEBHOOK_ALLOW/,
      );
    }
    await refused(
      post({ action: { kind: "retrain", retrain: { dataset: "missing" } } }),
      400,
      /dataset missing not found/,
    );
    await refused(
      post({ action: { kind: "retrain", retrain: { dataset: "churn", retryAfterMs: 10 } } }),
      400,
      /retryAfterMs/,
    );
    await refused(post({ surprise: true }), 400, /surprise|Unrecognized/);
    expect(await monitorCount()).toBe(before);
    expect((await hub.client.get<{ alerts: unknown[] }>("/api/v1/alerts")).alerts).toEqual([]);
  });

  it("a device may not read alerts", async () => {
    const granted = await subscribeGranted(devices[0]!.client, [
      `${ALERTS_TOPIC_ROOT}/#`,
      "edgefleet/v1/#",
      "#",
    ]);
    expect(granted).toEqual([128, 128, 128]);
  });

  let monitorId: string;
  it("raises nothing on reference-like windows", async () => {
    const monitor = await hub.client.post<{ id: string; state: string }>("/api/v1/monitors", {
      ...definition,
      webhook: { url: webhookUrl },
    });
    monitorId = monitor.id;
    const empty = await hub.client.post<{ evaluation: { verdict: string } }>(
      `/api/v1/monitors/${monitorId}/evaluate`,
      {},
    );
    expect(empty.evaluation.verdict).toBe("no-data");
    for (let i = 0; i < 4; i++) await publishWindows(undefined);
    const result = await hub.client.post<{
      evaluation: { verdict: string; rows: number; devices: number };
      alert: unknown;
    }>(`/api/v1/monitors/${monitorId}/evaluate`, {});
    expect(result.evaluation).toMatchObject({ verdict: "ok", rows: 300, devices: 2 });
    expect(result.alert).toBeNull();
    expect((await hub.client.get<{ alerts: unknown[] }>("/api/v1/alerts")).alerts).toEqual([]);
  });

  it("alarms once on a shift: stored alert, MQTT message, webhook delivered after a retry", async () => {
    const column = spec.columns[0]!.name;
    const mqttAlert = nextMessage(listener, (m) => m.topic === alertTopic(monitorId));
    await publishWindows([column]);
    const result = await hub.client.post<{
      evaluation: { verdict: string; report: { fired: { column: string; windows: number }[] } };
      alert: { id: string; message: string };
    }>(`/api/v1/monitors/${monitorId}/evaluate`, {});
    expect(result.evaluation.verdict).toBe("drift");
    expect(result.evaluation.report.fired.map((f) => f.column)).toContain(column);
    expect(result.alert.message).toContain(column);

    const message = JSON.parse((await mqttAlert).payload.toString()) as {
      id: string;
      monitor: { id: string };
    };
    expect(message).toMatchObject({ id: result.alert.id, monitor: { id: monitorId } });

    const alerts = await waitFor("webhook delivered", async () => {
      const { alerts } = await hub.client.get<{
        alerts: { id: string; webhookStatus: string; webhookAttempts: number }[];
      }>(`/api/v1/alerts?monitor=${monitorId}`);
      return alerts[0]?.webhookStatus === "delivered" ? alerts : undefined;
    });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.webhookAttempts).toBe(2);
    expect(posts.map((p) => p.id)).toEqual([result.alert.id, result.alert.id]);
    expect(posts[1]!.body).toMatchObject({ kind: "edgefleet.alert", id: result.alert.id });

    // Still drifted: no second alert.
    const again = await hub.client.post<{ evaluation: { verdict: string }; alert: unknown }>(
      `/api/v1/monitors/${monitorId}/evaluate`,
      {},
    );
    expect(again.evaluation.verdict).toBe("drift");
    expect(again.alert).toBeNull();
    expect((await hub.client.get<{ alerts: unknown[] }>("/api/v1/alerts")).alerts).toHaveLength(1);
  });

  it("serves history and per-column plot data", async () => {
    const column = spec.columns[0]!.name;
    const { evaluations } = await hub.client.get<{ evaluations: { verdict: string }[] }>(
      `/api/v1/monitors/${monitorId}/evaluations`,
    );
    // Newest first. The scheduler may also have evaluated the new, empty monitor on its own first
    // pass (a second "no-data" at the end, when it ran before the manual evaluation): both are real.
    const verdicts = evaluations.map((e) => e.verdict);
    expect(verdicts.slice(0, 4)).toEqual(["drift", "drift", "ok", "no-data"]);
    expect(verdicts.slice(4).every((v) => v === "no-data") && verdicts.length <= 5).toBe(true);
    const series = await hub.client.get<{
      alpha: number;
      points: {
        verdict: string;
        drifted: boolean;
        scales: { windows: number; tests: { ks?: { pValue: number } } }[];
        scores: { js: number };
        thresholds: unknown;
      }[];
    }>(`/api/v1/monitors/${monitorId}/series?column=${encodeURIComponent(column)}`);
    expect(series.alpha).toBe(0.005);
    expect(series.points.map((p) => p.drifted)).toEqual([false, true, true]);
    const last = series.points.at(-1)!;
    expect(last.scales.map((s) => s.windows)).toEqual([1, 4]);
    expect(last.scales[0]!.tests.ks!.pValue).toBeLessThan(1e-6);
    expect(last.scores.js).toBeGreaterThan(0);
    await refused(hub.client.get(`/api/v1/monitors/${monitorId}/series?column=nope`), 400, /not monitored/);
  });
});

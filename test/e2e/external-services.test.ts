/**
 * The same loop with the services users move to past one machine: PostgreSQL (DATABASE_URL) and
 * Mosquitto (MQTT_URL) on 127.0.0.1. Skipped, visibly, when either does not answer.
 */
import { randomBytes } from "node:crypto";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, spawnAgent } from "../../lib/agent-process.js";
import { answers } from "../../lib/ports.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { deviceTopic } from "../../wire/topics.js";
import {
  createScratchDatabase,
  DEFAULT_TEST_DATABASE_URL,
  probePostgres,
} from "../store/postgres-scratch.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { getJson, waitFor } from "../support/wait.js";

const MOSQUITTO_URL = process.env.EDGEFLEET_TEST_MQTT_URL ?? "mqtt://127.0.0.1:1883";
const DATABASE_URL = process.env.EDGEFLEET_TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;

const postgresProblem = await probePostgres(DATABASE_URL);
const mosquittoUp = await answers(
  Number(new URL(MOSQUITTO_URL).port || 1883),
  new URL(MOSQUITTO_URL).hostname,
);
const skipReason = [
  postgresProblem && `PostgreSQL at ${new URL(DATABASE_URL).host}: ${postgresProblem}`,
  !mosquittoUp && `no MQTT broker at ${MOSQUITTO_URL}`,
]
  .filter(Boolean)
  .join("; ");
if (skipReason) console.warn(`SKIPPED external-services loop: ${skipReason}`);

describe.skipIf(Boolean(skipReason))("the loop on PostgreSQL and Mosquitto", () => {
  let hub: TestHub;
  let agent: AgentProcess;
  let scratch: { url: string; drop(): Promise<void> };
  // Mosquitto here is shared and keeps retained messages: unique device ids per run, cleaned up after.
  const deviceId = `ext-${randomBytes(4).toString("hex")}`;

  beforeAll(async () => {
    scratch = await createScratchDatabase(DATABASE_URL);
    hub = await startTestHub({ databaseUrl: scratch.url, mqttUrl: MOSQUITTO_URL });
  });

  afterAll(async () => {
    await agent?.stop();
    await hub?.dispose();
    await scratch?.drop();
    const cleaner = await mqtt.connectAsync(MOSQUITTO_URL, { reconnectPeriod: 0 });
    for (const kind of ["desired", "reported", "status"] as const) {
      await cleaner.publishAsync(deviceTopic(deviceId, kind), "", { retain: true, qos: 1 });
    }
    await cleaner.endAsync();
  });

  it("stores in PostgreSQL, deploys over Mosquitto, and the agent serves and reports", async () => {
    const health = await hub.client.get<{
      database: string;
      mqtt: { embedded: boolean; connected: boolean };
    }>("/api/v1/health");
    expect(health).toMatchObject({ database: "postgres", mqtt: { embedded: false, connected: true } });

    const { secret } = await hub.client.post<{ secret: string }>("/api/v1/devices", { id: deviceId });
    const model = buildMlpClassifier({ inputSize: 2, hiddenSizes: [4], classes: 2, seed: 5 });
    const registered = await hub.client.request<{ version: number }>(
      "POST",
      "/api/v1/models/ext/versions",
      model.bytes,
    );
    await hub.client.post("/api/v1/modules", {
      name: "ext",
      version: "1.0.0",
      model: { name: "ext", version: registered.version },
    });
    await hub.client.post("/api/v1/deployments", {
      module: "ext",
      version: "1.0.0",
      selector: { deviceIds: [deviceId] },
    });

    agent = await spawnAgent({
      hubUrl: hub.url,
      mqttUrl: MOSQUITTO_URL,
      deviceId,
      secret,
      trustKey: hub.parts.signing.publicKeyPem,
    });
    await waitFor(
      `agent serving ext@1.0.0\n${agent.output()}`,
      async () => {
        const body = await getJson<{ modules: { name: string; version: string }[] }>(
          `${agent.scoringUrl}/v1/modules`,
        );
        return body?.modules.some((m) => m.name === "ext" && m.version === "1.0.0");
      },
      45_000,
    );
    const infer = await fetch(`${agent.scoringUrl}/v2/models/ext/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        inputs: [{ name: "features", shape: [1, 2], datatype: "FP32", data: [0.5, -0.5] }],
      }),
    });
    expect(infer.status).toBe(200);

    await waitFor("the hub to record the device online and the module active", async () => {
      const device = await hub.client.get<{ online: boolean; reported?: { modules: { state: string }[] } }>(
        `/api/v1/devices/${deviceId}`,
      );
      return device.online && device.reported?.modules[0]?.state === "active";
    });
    await waitFor("telemetry in PostgreSQL", async () => {
      const { windows } = await hub.client.get<{ windows: { requests: number }[] }>(
        `/api/v1/telemetry?device=${deviceId}`,
      );
      return windows.some((w) => w.requests > 0);
    });
  });
});

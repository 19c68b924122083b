/**
 * The agent in process against real parts: an aedes broker on a free port, a node:http server
 * standing in for the hub's blob and signing-key endpoints, signed module tarballs and
 * onnxruntime-node. The test plays the hub over MQTT: it publishes `desired` and reads `reported`.
 */
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Aedes } from "aedes";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAgentConfig } from "../../agent/config.js";
import { hubAuthorization } from "../../agent/downloads.js";
import { type RunningAgent, runAgent } from "../../agent/main.js";
import { silentLogger } from "../../lib/log.js";
import { buildMlpClassifier, type MlpModel } from "../../modules/onnx/models.js";
import { packModule } from "../../modules/pack.js";
import { generateSigningKeyPair } from "../../modules/sign.js";
import type { DesiredModule, DeviceEvent, ReportedState, Status } from "../../wire/messages.js";
import { deviceTopic } from "../../wire/topics.js";
import { waitFor } from "../support/wait.js";
import { type BlobServer, startBlobServer } from "./blob-server.js";

const SECRET = "device-secret";
const MODULE = "sensor-model";
const hubKeys = generateSigningKeyPair();
const otherKeys = generateSigningKeyPair();

let broker: Aedes;
let mqttServer: Server;
let mqttUrl: string;
let blobs: BlobServer;
let hub: MqttClient;
const reported = new Map<string, ReportedState>();
const statuses = new Map<string, Status>();
const events: Array<DeviceEvent & { deviceId: string }> = [];
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  broker = await Aedes.createBroker();
  mqttServer = createServer(broker.handle);
  await new Promise<void>((resolve) => mqttServer.listen(0, "127.0.0.1", resolve));
  mqttUrl = `mqtt://127.0.0.1:${(mqttServer.address() as { port: number }).port}`;
  blobs = await startBlobServer({ signingKeyPem: hubKeys.publicKeyPem });
  hub = await mqtt.connectAsync(mqttUrl, { clientId: "hub", protocolVersion: 4 });
  hub.on("message", (topic, payload) => {
    const [, , , deviceId, kind] = topic.split("/");
    if (payload.length === 0 || deviceId === undefined) return;
    const json = JSON.parse(payload.toString());
    if (kind === "reported") reported.set(deviceId, json);
    if (kind === "status") statuses.set(deviceId, json);
    if (kind === "events") events.push({ ...json, deviceId });
  });
  await hub.subscribeAsync(
    ["edgefleet/v1/devices/+/reported", "edgefleet/v1/devices/+/status", "edgefleet/v1/devices/+/events"],
    {
      qos: 1,
    },
  );
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await hub?.endAsync();
  await blobs?.close();
  await new Promise<void>((resolve) => mqttServer.close(() => resolve()));
  await new Promise<void>((resolve) => broker.close(() => resolve()));
});

/** Waits for `check` to hold; the message names the condition when it never does. */
function until<T>(check: () => T | undefined | false): Promise<T> {
  return waitFor(check.toString(), async () => check(), 20_000, 20);
}

interface Packed {
  desired: DesiredModule;
  model: MlpModel;
}

/** Packs and signs a classifier module and puts its tarball on the blob server. */
async function pack(version: string, seed: number, privateKeyPem = hubKeys.privateKeyPem): Promise<Packed> {
  const model = buildMlpClassifier({ inputSize: 4, hiddenSizes: [8], classes: 3, seed });
  const packed = await packModule({
    manifest: { name: MODULE, version, model: { file: "model.onnx" } },
    modelBytes: model.bytes,
    privateKeyPem,
  });
  const url = blobs.put(`${version}-${packed.sha256}`, packed.tarball);
  return { desired: { name: MODULE, version, url, sha256: packed.sha256, size: packed.size }, model };
}

async function publishDesired(
  deviceId: string,
  revision: number,
  modules: DesiredModule[] | string,
): Promise<void> {
  const payload =
    typeof modules === "string"
      ? modules
      : JSON.stringify({ protocol: 1, revision, issuedAt: new Date().toISOString(), modules });
  await hub.publishAsync(deviceTopic(deviceId, "desired"), payload, { qos: 1, retain: true });
}

function moduleReport(deviceId: string) {
  return reported.get(deviceId)?.modules.find((m) => m.name === MODULE);
}

const ROW = [21, 48, 0.3, 1.2];

/** Scores one row over OIP and returns the served version and the logits. */
async function score(scoringUrl: string): Promise<{ version: string; logits: number[] }> {
  const response = await fetch(`${scoringUrl}/v2/models/${MODULE}/infer`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: ROW }] }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { model_version: string; outputs: Array<{ data: number[] }> };
  return { version: body.model_version, logits: body.outputs[0]!.data };
}

function expectLogits(actual: number[], model: MlpModel): void {
  const expected = model.predict([ROW])[0]!;
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, i) => {
    expect(value).toBeCloseTo(expected[i]!, 4);
  });
}

async function startAgent(
  deviceId: string,
  dataDir: string,
  brokerUrl = mqttUrl,
  trust: Record<string, string> = { EDGEFLEET_TRUST_ON_FIRST_USE: "1" },
): Promise<RunningAgent> {
  const config = parseAgentConfig({
    env: {
      ...trust,
      EDGEFLEET_HUB_URL: blobs.url,
      EDGEFLEET_MQTT_URL: brokerUrl,
      EDGEFLEET_DEVICE_ID: deviceId,
      EDGEFLEET_DEVICE_SECRET: SECRET,
      EDGEFLEET_DATA: dataDir,
      EDGEFLEET_AGENT_PORT: "0",
      EDGEFLEET_PROFILE: "test-profile",
    },
  });
  const agent = await runAgent(config, {
    log: silentLogger,
    handleSignals: false,
    retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
    mqttReconnect: { baseMs: 50, maxMs: 500, authRefusedBaseMs: 500 },
  });
  cleanups.push(() => agent.stop());
  return agent;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "edgefleet-agent-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe("agent reconcile over MQTT", () => {
  it("applies, switches, refuses bad tarballs, ignores stale revisions and serves after a restart without the broker", async () => {
    const deviceId = "dev-main";
    const dataDir = await tempDir();
    const v1 = await pack("1.0.0", 1);
    const v2 = await pack("1.1.0", 2);
    let agent = await startAgent(deviceId, dataDir);

    // Birth status: online, with capabilities and the scoring URL.
    const status = await until(() => statuses.get(deviceId)?.online && statuses.get(deviceId));
    expect(status.capabilities?.executionProviders).toContain("cpu");
    expect(status.scoringUrl).toBe(agent.scoringUrl);
    expect(status.profile).toBe("test-profile");

    // 1. First version: downloaded with device credentials, verified with the pinned key, served.
    await publishDesired(deviceId, 1, [v1.desired]);
    await until(() => moduleReport(deviceId)?.state === "active" && reported.get(deviceId)?.revision === 1);
    expect(moduleReport(deviceId)).toMatchObject({ version: "1.0.0", servingVersion: "1.0.0" });
    let scored = await score(agent.scoringUrl);
    expect(scored.version).toBe("1.0.0");
    expectLogits(scored.logits, v1.model);
    const auth = hubAuthorization(blobs.url, blobs.url, deviceId, SECRET);
    expect(
      blobs.hits.filter((h) => h.path.startsWith("/blobs/")).every((h) => h.authorization === auth),
    ).toBe(true);
    expect((await stat(join(dataDir, "trust-key.pem"))).isFile()).toBe(true);

    // 2. Second version switches; the first stays on disk for rollback.
    await publishDesired(deviceId, 2, [v2.desired]);
    await until(
      () => moduleReport(deviceId)?.version === "1.1.0" && moduleReport(deviceId)?.state === "active",
    );
    scored = await score(agent.scoringUrl);
    expect(scored.version).toBe("1.1.0");
    expectLogits(scored.logits, v2.model);
    expect((await readdir(join(dataDir, "modules", MODULE))).sort()).toEqual(["1.0.0", "1.1.0"]);

    // 3. A tarball whose bytes do not match the pinned sha256: failed, 1.1.0 keeps serving.
    const corrupt = await pack("1.2.0", 3);
    const bad = Buffer.from(await (await fetch(corrupt.desired.url)).arrayBuffer());
    bad[bad.length - 10] = bad[bad.length - 10]! ^ 0xff;
    blobs.put(corrupt.desired.url.split("/blobs/")[1]!, bad);
    await publishDesired(deviceId, 3, [corrupt.desired]);
    const failedHash = await until(
      () => moduleReport(deviceId)?.state === "failed" && moduleReport(deviceId),
    );
    expect(failedHash).toMatchObject({ version: "1.2.0", servingVersion: "1.1.0" });
    expect(failedHash.error).toMatch(/sha256/);
    expect((await score(agent.scoringUrl)).version).toBe("1.1.0");

    // 4. A module signed with another key: failed with a signature reason, 1.1.0 keeps serving.
    const forged = await pack("1.3.0", 4, otherKeys.privateKeyPem);
    await publishDesired(deviceId, 4, [forged.desired]);
    const failedSig = await until(
      () =>
        moduleReport(deviceId)?.version === "1.3.0" &&
        moduleReport(deviceId)?.state === "failed" &&
        moduleReport(deviceId),
    );
    expect(failedSig.error).toMatch(/signature/i);
    expect(failedSig.servingVersion).toBe("1.1.0");
    // Refused tarballs are removed, not left to fill the disk (issue 12, defect 6).
    expect(await readdir(join(dataDir, "downloads"))).toEqual([]);
    await until(() => reported.get(deviceId)?.revision === 4);
    expect((await score(agent.scoringUrl)).version).toBe("1.1.0");
    expect((await readdir(join(dataDir, "modules", MODULE))).sort()).toEqual(["1.0.0", "1.1.0"]);

    // 5. An older revision is ignored; an invalid payload is reported as an event and ignored.
    await publishDesired(deviceId, 2, [v1.desired]);
    await until(() => events.some((e) => e.deviceId === deviceId && e.kind === "desired.stale"));
    await publishDesired(deviceId, 9, '{"protocol":1,"revision":"nine"}');
    await until(() => events.some((e) => e.deviceId === deviceId && e.kind === "desired.invalid"));
    await agent.idle();
    expect(reported.get(deviceId)?.revision).toBe(4);
    expect((await score(agent.scoringUrl)).version).toBe("1.1.0");

    // 6. Graceful stop publishes offline; a restart with no broker serves the last active version.
    await agent.stop();
    await until(() => statuses.get(deviceId)?.online === false);
    const deadBroker = await closedPortUrl();
    agent = await startAgent(deviceId, dataDir, deadBroker);
    scored = await score(agent.scoringUrl);
    expect(scored.version).toBe("1.1.0");
    expectLogits(scored.logits, v2.model);
    await agent.stop();

    // 7. The active version's files are damaged: the restart falls back to the previous version on disk.
    await writeFile(join(dataDir, "modules", MODULE, "1.1.0", "model.onnx"), "not an onnx model");
    agent = await startAgent(deviceId, dataDir, deadBroker);
    scored = await score(agent.scoringUrl);
    expect(scored.version).toBe("1.0.0");
    expectLogits(scored.logits, v1.model);
    await agent.stop();
  });

  it("refuses to start with no trust key unless trust on first use is asked for (issue 12, defect 7)", async () => {
    const dataDir = await tempDir();
    const keyRequests = () => blobs.hits.filter((h) => h.path === "/api/v1/signing-key").length;
    const before = keyRequests();
    await expect(startAgent("dev-no-key", dataDir, mqttUrl, {})).rejects.toThrow(/no trust key/);
    // Nothing was asked of the (possibly fake) hub, and nothing was pinned.
    expect(keyRequests()).toBe(before);
    expect(await readdir(dataDir)).not.toContain("trust-key.pem");
    // A configured key (as the provisioning bundle carries) is enough, and the hub is not asked.
    const agent = await startAgent("dev-no-key", dataDir, mqttUrl, {
      EDGEFLEET_TRUST_KEY: hubKeys.publicKeyPem,
    });
    const v1 = await pack("3.0.0", 7);
    await publishDesired("dev-no-key", 1, [v1.desired]);
    await until(() => reported.get("dev-no-key")?.modules.find((m) => m.name === MODULE)?.state === "active");
    expect(keyRequests()).toBe(before);
    await agent.stop();
  });

  it("resumes a download from a partial .part file", async () => {
    const deviceId = "dev-resume";
    const dataDir = await tempDir();
    const v1 = await pack("2.0.0", 5);
    const tarball = Buffer.from(await (await fetch(v1.desired.url)).arrayBuffer());
    const half = Math.floor(tarball.length / 2);
    await mkdir(join(dataDir, "downloads"), { recursive: true });
    await writeFile(join(dataDir, "downloads", `${v1.desired.sha256}.part`), tarball.subarray(0, half));
    const path = new URL(v1.desired.url).pathname;
    const before = blobs.hits.length;

    const agent = await startAgent(deviceId, dataDir);
    await publishDesired(deviceId, 1, [v1.desired]);
    await until(() => moduleReport(deviceId)?.state === "active");
    expect(
      blobs.hits
        .slice(before)
        .filter((h) => h.path === path)
        .map((h) => [h.range, h.status]),
    ).toEqual([[`bytes=${half}-`, 206]]);
    expect((await score(agent.scoringUrl)).version).toBe("2.0.0");
    // The verified tarball is unpacked and then removed; nothing is left in downloads.
    expect(await readdir(join(dataDir, "downloads"))).toEqual([]);
    await agent.stop();
  });
});

/** A broker URL nobody listens on. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `mqtt://127.0.0.1:${port}`;
}

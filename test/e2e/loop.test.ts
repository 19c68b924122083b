/**
 * The backbone end to end with real components: an in-process hub (PGlite, embedded aedes),
 * two agent processes, real onnxruntime. Provision → register → package → deploy → serve →
 * score → telemetry, then a second version under continuous load, refusals, and a restart
 * of an agent while the hub is down.
 */
import { readFile, writeFile } from "node:fs/promises";
import mqtt from "mqtt";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubApiError } from "../../hub-api/client.js";
import { type AgentProcess, spawnAgent } from "../../lib/agent-process.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { packModule } from "../../modules/pack.js";
import { generateSigningKeyPair } from "../../modules/sign.js";
import { deviceTopic } from "../../wire/topics.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { getJson, waitFor } from "../support/wait.js";

const FEATURES = ["f0", "f1", "f2", "f3"];
const LABELS = ["low", "mid", "high"];

interface Device {
  id: string;
  secret: string;
}
interface ScoreAnswer {
  module: string;
  version: string;
  predictions: { label: string; probabilities: Record<string, number> }[];
}

let hub: TestHub;
let agents: AgentProcess[] = [];
const devices: Device[] = [];
const modelV1 = buildMlpClassifier({ inputSize: 4, hiddenSizes: [8], classes: 3, seed: 1 });
const modelV2 = buildMlpClassifier({ inputSize: 4, hiddenSizes: [8], classes: 3, seed: 2 });

async function registerAndPackage(model: { bytes: Uint8Array }, moduleVersion: string) {
  const registered = await hub.client.request<{ version: number }>(
    "POST",
    "/api/v1/models/classifier/versions",
    model.bytes,
  );
  return hub.client.post<{ tarballSha256: string; version: string }>("/api/v1/modules", {
    name: "classifier",
    version: moduleVersion,
    model: { name: "classifier", version: registered.version },
    preprocessing: { kind: "tabular", input: "features", features: FEATURES.map((name) => ({ name })) },
    postprocessing: { kind: "softmax", output: "logits", labels: LABELS },
  });
}

async function deploy(version: string) {
  return hub.client.post<{ id: string; targetDeviceIds: string[] }>("/api/v1/deployments", {
    module: "classifier",
    version,
    selector: { tags: { fleet: "e2e" } },
  });
}

async function score(agent: AgentProcess, features: Record<string, unknown>): Promise<Response> {
  return fetch(`${agent.scoringUrl}/v1/modules/classifier/score`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ features }),
  });
}

async function servedVersion(agent: AgentProcess): Promise<string | undefined> {
  const body = await getJson<{ modules: { name: string; version: string }[] }>(
    `${agent.scoringUrl}/v1/modules`,
  );
  return body?.modules.find((m) => m.name === "classifier")?.version;
}

/**
 * Waits for a deployment every device refused: the failures gate rolls it back and its outcome
 * names each device with the reason it reported (the devices' own report moves on to the version
 * they are given back, so the deployment is the lasting record).
 */
async function refusedEverywhere(id: string) {
  const d = await waitFor(`deployment ${id} rolled back`, async () => {
    const view = await hub.client.get<{
      status: string;
      outcome: { devices?: { deviceId: string; verdict: string; reason?: string }[] } | null;
    }>(`/api/v1/deployments/${id}`);
    return view.status === "rolled-back" ? view : undefined;
  });
  const named = d.outcome?.devices ?? [];
  expect(named.map((x) => [x.deviceId, x.verdict]).sort()).toEqual(
    devices.map((x) => [x.id, "failed"]).sort(),
  );
  return named;
}

function softmax(logits: number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((v) => v / sum);
}

beforeAll(async () => {
  hub = await startTestHub();
  for (const id of ["edge-a", "edge-b"]) {
    const { device, secret } = await hub.client.post<{ device: { id: string }; secret: string }>(
      "/api/v1/devices",
      {
        id,
        tags: { fleet: "e2e" },
      },
    );
    devices.push({ id: device.id, secret });
  }
  agents = await Promise.all(
    devices.map((d) =>
      spawnAgent({
        hubUrl: hub.url,
        mqttUrl: hub.mqttUrl,
        deviceId: d.id,
        secret: d.secret,
        trustKey: hub.parts.signing.publicKeyPem,
      }),
    ),
  );
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await hub?.dispose();
});

describe("the loop: hub → signed module → MQTT desired state → agents → scoring → telemetry", () => {
  it("both agents serve a deployed module and score like a direct session.run", async () => {
    await registerAndPackage(modelV1, "1.0.0");
    const deployment = await deploy("1.0.0");
    expect(deployment.targetDeviceIds.sort()).toEqual(["edge-a", "edge-b"]);
    for (const agent of agents) {
      await waitFor(
        `${agent.deviceId} serving 1.0.0\n${agent.output()}`,
        async () => (await servedVersion(agent)) === "1.0.0",
        45_000,
      );
    }

    const row = [0.3, -1.2, 2.5, 0.7];
    const session = await ort.InferenceSession.create(modelV1.bytes);
    const direct = await session.run({ features: new ort.Tensor("float32", Float32Array.from(row), [1, 4]) });
    const expected = softmax(Array.from(direct.logits!.data as Float32Array));
    await session.release();
    for (const agent of agents) {
      const response = await score(agent, Object.fromEntries(FEATURES.map((f, i) => [f, row[i]])));
      expect(response.status).toBe(200);
      const answer = (await response.json()) as ScoreAnswer;
      expect(answer.version).toBe("1.0.0");
      const probabilities = LABELS.map((label) => answer.predictions[0]!.probabilities[label]!);
      for (const [i, p] of probabilities.entries()) expect(p).toBeCloseTo(expected[i]!, 5);
      expect(answer.predictions[0]!.label).toBe(LABELS[expected.indexOf(Math.max(...expected))]);
    }

    await waitFor("the hub to show both devices active", async () => {
      const status = await hub.client.get<{ counts: Record<string, number> }>(
        `/api/v1/deployments/${deployment.id}`,
      );
      return status.counts.active === 2;
    });
  });

  it("telemetry windows from both agents land in the hub", async () => {
    const windows = await waitFor("telemetry from both devices", async () => {
      const { windows } = await hub.client.get<{
        windows: { deviceId: string; module: string; requests: number }[];
      }>("/api/v1/telemetry?module=classifier&limit=100");
      const devicesSeen = new Set(windows.filter((w) => w.requests > 0).map((w) => w.deviceId));
      return devicesSeen.size === 2 ? windows : undefined;
    });
    expect(windows.every((w) => w.module === "classifier")).toBe(true);
  });

  it("a second version takes over with no failed request while both agents are scored continuously", async () => {
    await registerAndPackage(modelV2, "1.1.0");
    let stop = false;
    const failures: string[] = [];
    const versionsSeen = new Set<string>();
    const answeredByNew = new Map(agents.map((agent) => [agent.deviceId, 0]));
    const loops = agents.map(async (agent) => {
      while (!stop) {
        const response = await score(agent, { f0: 1, f1: 2, f2: 3, f3: 4 }).catch((error: Error) => error);
        if (response instanceof Error) failures.push(`${agent.deviceId}: ${response.message}`);
        else if (response.status !== 200)
          failures.push(`${agent.deviceId}: HTTP ${response.status} ${await response.text()}`);
        else {
          const { version } = (await response.json()) as ScoreAnswer;
          versionsSeen.add(version);
          if (version === "1.1.0") answeredByNew.set(agent.deviceId, answeredByNew.get(agent.deviceId)! + 1);
        }
      }
    });
    await deploy("1.1.0");
    for (const agent of agents) {
      await waitFor(
        `${agent.deviceId} serving 1.1.0`,
        async () => (await servedVersion(agent)) === "1.1.0",
        45_000,
      );
    }
    // Keep scoring past the switch (50 answers from the new version on each agent) so requests on
    // the draining old session finish too.
    await waitFor("50 answers from 1.1.0 on each agent", async () =>
      [...answeredByNew.values()].every((n) => n >= 50),
    );
    stop = true;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    expect([...versionsSeen].sort()).toEqual(["1.0.0", "1.1.0"]);
  });
});

describe("refusals change nothing", () => {
  it("a malformed ONNX upload is refused and no version is added", async () => {
    const before = await hub.client.get<{ versions: unknown[] }>("/api/v1/models/classifier/versions");
    for (const bytes of [
      new Uint8Array(0),
      new TextEncoder().encode("not an onnx model"),
      modelV1.bytes.slice(0, 40),
    ]) {
      const error = await hub.client
        .request("POST", "/api/v1/models/classifier/versions", bytes)
        .catch((e: HubApiError) => e);
      expect(error).toBeInstanceOf(HubApiError);
      expect((error as HubApiError).status).toBe(400);
    }
    const after = await hub.client.get<{ versions: unknown[] }>("/api/v1/models/classifier/versions");
    expect(after.versions.length).toBe(before.versions.length);
  });

  it("a module whose blob is corrupted is refused by the agents, which keep serving the old version", async () => {
    const created = await registerAndPackage(modelV1, "1.2.0");
    const path = hub.parts.blobs.path(created.tarballSha256);
    const bytes = await readFile(path);
    bytes[bytes.length - 10]! ^= 0xff;
    await writeFile(path, bytes);
    const refused = await refusedEverywhere((await deploy("1.2.0")).id);
    for (const device of refused) expect(device.reason).toBeTruthy();
    for (const agent of agents) {
      expect(await servedVersion(agent)).toBe("1.1.0");
      expect((await score(agent, { f0: 1, f1: 1, f2: 1, f3: 1 })).status).toBe(200);
    }
  });

  it("a module signed by another key is refused, and the old version keeps serving", async () => {
    const registered = await hub.client.get<{ versions: { id: number; version: number; sha256: string }[] }>(
      "/api/v1/models/classifier/versions",
    );
    const modelVersion = registered.versions[0]!;
    const rogue = generateSigningKeyPair();
    const packed = await packModule({
      manifest: {
        schemaVersion: 1,
        name: "classifier",
        version: "1.3.0",
        model: { file: "model.onnx", sha256: modelVersion.sha256, size: modelV1.bytes.byteLength },
        inputs: [{ name: "features", datatype: "FP32", shape: [-1, 4] }],
        outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 3] }],
        createdAt: new Date().toISOString(),
      },
      modelBytes: modelV1.bytes,
      privateKeyPem: rogue.privateKeyPem,
    });
    // Stands in for a tampered registry: a tarball the hub's key never signed.
    await hub.parts.blobs.put(packed.tarball);
    await hub.parts.repos.modules.create({
      name: "classifier",
      version: "1.3.0",
      modelVersionId: modelVersion.id,
      manifest: packed.manifest,
      tarballSha256: packed.sha256,
      tarballSize: packed.size,
    });
    const refused = await refusedEverywhere((await deploy("1.3.0")).id);
    for (const device of refused) expect(device.reason).toMatch(/signature/i);
    for (const agent of agents) expect(await servedVersion(agent)).toBe("1.1.0");
  });

  it("bad scoring payloads get 400 with a message, and the agent still serves", async () => {
    const agent = agents[0]!;
    const bad: [string, string][] = [
      ["not json", "{"],
      ["missing feature", JSON.stringify({ features: { f0: 1, f1: 2, f2: 3 } })],
      ["non-numeric feature", JSON.stringify({ features: { f0: "x", f1: 2, f2: 3, f3: 4 } })],
      ["no features", JSON.stringify({ nothing: true })],
    ];
    for (const [what, body] of bad) {
      const response = await fetch(`${agent.scoringUrl}/v1/modules/classifier/score`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      expect(response.status, what).toBe(400);
      const answer = (await response.json()) as { error: { message: string } };
      expect(answer.error.message.length, what).toBeGreaterThan(0);
    }
    const unknown = await fetch(`${agent.scoringUrl}/v1/modules/nope/score`, { method: "POST", body: "{}" });
    expect(unknown.status).toBe(404);
    const wrongShape = await fetch(`${agent.scoringUrl}/v2/models/classifier/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        inputs: [{ name: "features", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }],
      }),
    });
    expect(wrongShape.status).toBe(400);
    expect(((await wrongShape.json()) as { error: string }).error).toBeTruthy();
    expect((await score(agent, { f0: 1, f1: 1, f2: 1, f3: 1 })).status).toBe(200);
  });

  it("a wrong device secret is refused by the broker, and a device cannot read another device's topics", async () => {
    const refused = await new Promise<Error>((resolve) => {
      const client = mqtt.connect(hub.mqttUrl, {
        clientId: "edge-a",
        username: "edge-a",
        password: "wrong",
        reconnectPeriod: 0,
      });
      client.once("error", (error) => {
        client.end(true);
        resolve(error);
      });
    });
    expect(refused.message).toMatch(/Not authorized|Bad username or password/i);

    const { device, secret } = await hub.client.post<{ device: { id: string }; secret: string }>(
      "/api/v1/devices",
      { id: "snooper" },
    );
    const snooper = await mqtt.connectAsync(hub.mqttUrl, {
      clientId: device.id,
      username: device.id,
      password: secret,
      reconnectPeriod: 0,
    });
    // The broker answers SUBACK 0x80 (failure); mqtt.js turns that into a rejected subscribe.
    const subscribed = await snooper.subscribeAsync(deviceTopic("edge-a", "desired"), { qos: 1 }).then(
      (granted) => granted[0]!.qos,
      () => 128,
    );
    expect(subscribed).toBe(128);
    const received: string[] = [];
    snooper.on("message", (topic) => received.push(topic));
    // A second subscription (its own desired, allowed, nothing retained there) is a round trip on
    // the same session: the broker has handled the refused one, whose retained message would have
    // come right after its SUBACK, before it answers this one.
    await snooper.subscribeAsync(deviceTopic(device.id, "desired"), { qos: 1 });
    expect(received).toEqual([]);
    await snooper.endAsync();
  });
});

describe("restart without the hub", () => {
  it("an agent restarted while the hub is down serves its last active module again", async () => {
    const agent = agents[0]!;
    await hub.close();
    await agent.stop();
    const restarted = await spawnAgent({
      hubUrl: hub.url,
      mqttUrl: hub.mqttUrl,
      deviceId: agent.deviceId,
      secret: devices[0]!.secret,
      trustKey: hub.parts.signing.publicKeyPem,
      dataDir: agent.dataDir,
      port: agent.port,
    });
    agents[0] = restarted;
    await waitFor(
      `restarted agent serving 1.1.0\n${restarted.output()}`,
      async () => (await servedVersion(restarted)) === "1.1.0",
      30_000,
    );
    expect((await score(restarted, { f0: 1, f1: 1, f2: 1, f3: 1 })).status).toBe(200);
  });
});

/**
 * End to end over TLS (issue 12): a hub started with `tls: auto` makes its own CA and serves
 * HTTPS and MQTTS; a device gets a certificate from that CA (key and CSR made on the client side)
 * and an agent process with no secret, only the CA, its certificate and its key, takes a rollout
 * and scores. Revoking the device cuts its live session off within a second and a reconnect with
 * the same certificate is refused. Plaintext clients and clients trusting another CA are refused
 * on the TLS ports.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CA_CERT_FILE, CA_KEY_FILE, SERVER_KEY_FILE, TLS_DIR } from "../../hub/tls/files.js";
import { HubClient } from "../../hub-api/client.js";
import { type AgentProcess, spawnAgent } from "../../lib/agent-process.js";
import { tlsFetch } from "../../lib/tls/client-tls.js";
import { createDeviceCsr, EC_P256, generateKeyPair, privateKeyPem, x509 } from "../../lib/tls/x509.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { closed, connectClient } from "../support/mqtt-clients.js";
import { getJson, waitFor } from "../support/wait.js";

let hub: TestHub;
let agent: AgentProcess | undefined;
let dir: string;

/** A device certificate from the hub's CA, written to files the way `devices provision --cert` does. */
async function certifiedDevice(
  id: string,
): Promise<{ cert: string; key: string; certFile: string; keyFile: string }> {
  await hub.client.post("/api/v1/devices", { id });
  const { keyPem, csrPem } = await createDeviceCsr(id);
  const issued = await hub.client.post<{ certificate: string; ca: string }>(
    `/api/v1/devices/${id}/certificate`,
    {
      csr: csrPem,
    },
  );
  expect(issued.ca).toBe(hub.caPem);
  const certFile = join(dir, `${id}.cert.pem`);
  const keyFile = join(dir, `${id}.key.pem`);
  await writeFile(certFile, issued.certificate);
  await writeFile(keyFile, keyPem, { mode: 0o600 });
  return { cert: issued.certificate, key: keyPem, certFile, keyFile };
}

/** An MQTTS client logging in with a device certificate only (no password). */
function certificateClient(
  id: string,
  device: { cert: string; key: string },
  ca = hub.caPem,
): Promise<MqttClient> {
  return connectClient(hub.mqttUrl, {
    clientId: id,
    username: id,
    clean: false,
    ca,
    cert: device.cert,
    key: device.key,
  });
}

/** Sends plaintext bytes to a TLS port; resolves with what came back and whether the server closed. */
function plaintextExchange(
  url: string,
  bytes: string | Buffer,
): Promise<{ closed: boolean; answer: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    let answer = "";
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    socket.on("data", (chunk) => (answer += chunk.toString("latin1")));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, answer });
    }, 10_000);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ closed: true, answer });
    });
    socket.on("error", () => undefined);
  });
}

/** An MQTT 3.1.1 CONNECT with username and password, as a plaintext client would send it. */
function mqttConnectPacket(clientId: string, password: string): Buffer {
  const field = (text: string) => {
    const bytes = Buffer.from(text);
    return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
  };
  const body = Buffer.concat([
    field("MQTT"),
    Buffer.from([4, 0xc2, 0, 30]),
    field(clientId),
    field(clientId),
    field(password),
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** A self-signed CA nobody told the clients about. */
async function strangerCa(): Promise<string> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=stranger",
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: EC_P256,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  return cert.toString("pem");
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgefleet-tls-"));
  hub = await startTestHub({ tls: "auto" });
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await hub?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe("a hub with its own CA", () => {
  it("serves HTTPS and MQTTS, with its CA and keys in the data folder (keys 0600)", async () => {
    expect(hub.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(hub.mqttUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const tlsDir = join(hub.dataDir, TLS_DIR);
    expect(await readFile(join(tlsDir, CA_CERT_FILE), "utf8")).toBe(hub.caPem);
    for (const key of [CA_KEY_FILE, SERVER_KEY_FILE])
      expect((await stat(join(tlsDir, key))).mode & 0o777).toBe(0o600);
    expect((await stat(tlsDir)).mode & 0o777).toBe(0o700);
    const health = await tlsFetch({ ca: hub.caPem })(`${hub.url}/api/v1/health`);
    expect(health.status).toBe(200);
    // The provisioning answer hands a device the CA with the URLs and the trust key.
    const provisioned = await hub.client.post<{
      ca: string;
      hubUrl: string;
      mqttUrl: string;
      trustKey: string;
    }>("/api/v1/devices", { id: "bundle-check" });
    expect(provisioned).toMatchObject({ ca: hub.caPem, hubUrl: hub.url, mqttUrl: hub.mqttUrl });
    expect(provisioned.trustKey).toContain("BEGIN PUBLIC KEY");
  });

  it("refuses plaintext clients on its TLS ports", async () => {
    const { secret } = await hub.client.post<{ secret: string }>("/api/v1/devices", { id: "plain-dev" });
    const http = await plaintextExchange(
      hub.url,
      `GET /api/v1/health HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${hub.adminToken}\r\n\r\n`,
    );
    // The TLS layer drops a plaintext request: no HTTP answer, let alone the API's.
    expect(http.closed).toBe(true);
    expect(http.answer).not.toContain("HTTP/1.1 200");
    const mqtt = await plaintextExchange(hub.mqttUrl, mqttConnectPacket("plain-dev", secret));
    expect(mqtt.closed).toBe(true);
    // No CONNACK (0x20) came back.
    expect(mqtt.answer.startsWith("\u0020")).toBe(false);
  });

  it("is refused by clients that trust another CA", async () => {
    const other = await strangerCa();
    await expect(tlsFetch({ ca: other })(`${hub.url}/api/v1/health`)).rejects.toThrow();
    await expect(
      new HubClient({ url: hub.url, token: hub.adminToken }).get("/api/v1/health"),
    ).rejects.toThrow(/cannot reach the hub/);
    const { secret } = await hub.client.post<{ secret: string }>("/api/v1/devices", { id: "wrong-ca" });
    await expect(
      connectClient(hub.mqttUrl, { clientId: "wrong-ca", username: "wrong-ca", password: secret, ca: other }),
    ).rejects.toThrow(/self.signed|certificate/i);
  });

  it("refuses a device certificate for another device id, and one the hub did not issue", async () => {
    const device = await certifiedDevice("cert-a");
    await hub.client.post("/api/v1/devices", { id: "cert-b" });
    // The certificate says cert-a; claiming cert-b's client id is refused.
    await expect(certificateClient("cert-b", device)).rejects.toThrow(/Identifier rejected|Not authorized/i);
    // A key with a certificate from another CA is refused at CONNECT, not ignored.
    const strangerKeys = await generateKeyPair();
    const foreign = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: "02",
      name: "CN=cert-a",
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      keys: strangerKeys,
      signingAlgorithm: EC_P256,
    });
    await expect(
      certificateClient("cert-a", {
        cert: foreign.toString("pem"),
        key: privateKeyPem(strangerKeys.privateKey),
      }),
    ).rejects.toThrow(/Not authorized/i);
  });
});

describe("an agent with a device certificate", () => {
  it("takes a rollout over HTTPS and MQTTS with no secret, and scores", async () => {
    const device = await certifiedDevice("tls-agent");
    const caFile = join(dir, "ca.pem");
    await writeFile(caFile, hub.caPem!);
    agent = await spawnAgent({
      hubUrl: hub.url,
      mqttUrl: hub.mqttUrl,
      deviceId: "tls-agent",
      trustKey: hub.parts.signing.publicKeyPem,
      logLevel: "info",
      env: {
        EDGEFLEET_CA_FILE: caFile,
        EDGEFLEET_DEVICE_CERT_FILE: device.certFile,
        EDGEFLEET_DEVICE_KEY_FILE: device.keyFile,
      },
    });
    const model = buildMlpClassifier({ inputSize: 2, hiddenSizes: [4], classes: 2, seed: 5 });
    const registered = await hub.client.request<{ version: number }>(
      "POST",
      "/api/v1/models/tlsm/versions",
      model.bytes,
    );
    await hub.client.post("/api/v1/modules", {
      name: "tlsm",
      version: "1.0.0",
      model: { name: "tlsm", version: registered.version },
    });
    await hub.client.post("/api/v1/deployments", {
      module: "tlsm",
      version: "1.0.0",
      selector: { deviceIds: ["tls-agent"] },
    });
    await waitFor(
      () => `agent serving tlsm@1.0.0\n${agent!.output()}`,
      async () => {
        const body = await getJson<{ modules: { name: string; version: string }[] }>(
          `${agent!.scoringUrl}/v1/modules`,
        );
        return body?.modules.some((m) => m.name === "tlsm" && m.version === "1.0.0");
      },
      60_000,
    );
    const infer = await fetch(`${agent.scoringUrl}/v2/models/tlsm/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        inputs: [{ name: "features", shape: [1, 2], datatype: "FP32", data: [0.5, -0.5] }],
      }),
    });
    expect(infer.status).toBe(200);
    await waitFor("the hub to see tls-agent online with tlsm active", async () => {
      const twin = await hub.client.get<{
        online: boolean;
        reported: { modules: { name: string; state: string }[] } | null;
      }>("/api/v1/devices/tls-agent");
      return twin.online && twin.reported?.modules.some((m) => m.name === "tlsm" && m.state === "active");
    });
  }, 120_000);

  it("a revoked device is cut off within a second and cannot reconnect", async () => {
    const device = await certifiedDevice("revoked");
    const client = await certificateClient("revoked", device);
    const gone = closed(client);
    const started = Date.now();
    const answer = await hub.client.post<{ disconnected: boolean }>("/api/v1/devices/revoked/disable", {});
    expect(answer.disconnected).toBe(true);
    await gone;
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(certificateClient("revoked", device)).rejects.toThrow(/Not authorized/i);
    // Its HTTPS downloads are refused too.
    const download = await tlsFetch({ ca: hub.caPem, cert: device.cert, key: device.key })(
      `${hub.url}/api/v1/signing-key`,
    );
    expect(download.status).toBe(401);
    // Enabled again, the certificate works; a newly issued one replaces it at once.
    await hub.client.post("/api/v1/devices/revoked/enable", {});
    const again = await certificateClient("revoked", device);
    const replaced = closed(again);
    const { keyPem, csrPem } = await createDeviceCsr("revoked");
    await hub.client.post("/api/v1/devices/revoked/certificate", { csr: csrPem });
    await replaced;
    await expect(certificateClient("revoked", device)).rejects.toThrow(/Not authorized/i);
    expect(keyPem).toContain("PRIVATE KEY");
  });

  it("identifies a device by its certificate on HTTPS", async () => {
    const device = await certifiedDevice("https-dev");
    const withCert = tlsFetch({ ca: hub.caPem, cert: device.cert, key: device.key });
    expect((await withCert(`${hub.url}/api/v1/signing-key`)).status).toBe(200);
    // Without a certificate or a secret: 401.
    expect((await tlsFetch({ ca: hub.caPem })(`${hub.url}/api/v1/signing-key`)).status).toBe(401);
    await hub.client.request("DELETE", "/api/v1/devices/https-dev/certificate");
    expect((await withCert(`${hub.url}/api/v1/signing-key`)).status).toBe(401);
  });
});

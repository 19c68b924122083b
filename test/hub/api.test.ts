/** The hub API with a real hub (PGlite, embedded broker) on free ports: happy paths, bad input, security. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubApiError, HubClient } from "../../hub-api/client.js";
import { sha256Hex } from "../../lib/files.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { startTestHub, type TestHub } from "../support/hub.js";

let hub: TestHub;
const model = buildMlpClassifier({ inputSize: 3, hiddenSizes: [4], classes: 2, seed: 3 });

async function expectApiError(
  promise: Promise<unknown>,
  status: number,
  code?: string,
): Promise<HubApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected HTTP ${status}`).toBeInstanceOf(HubApiError);
  expect((error as HubApiError).status).toBe(status);
  if (code) expect((error as HubApiError).code).toBe(code);
  return error as HubApiError;
}

beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub?.dispose();
});

describe("happy path", () => {
  it("serves health and an OpenAPI document without credentials", async () => {
    const health = await fetch(`${hub.url}/api/v1/health`).then((r) => r.json());
    expect(health).toMatchObject({ ok: true, database: "pglite", mqtt: { connected: true, embedded: true } });
    const doc = (await fetch(`${hub.url}/api/v1/openapi.json`).then((r) => r.json())) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of [
      "/api/v1/devices",
      "/api/v1/models/{name}/versions",
      "/api/v1/modules",
      "/api/v1/deployments",
      "/api/v1/blobs/{sha256}",
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
  });

  it("registers a model version with its signature read from the ONNX file", async () => {
    const version = await hub.client.request<{
      version: number;
      sha256: string;
      inputs: unknown;
      outputs: unknown;
    }>("POST", "/api/v1/models/tiny/versions?description=first", model.bytes);
    expect(version.version).toBe(1);
    expect(version.sha256).toBe(sha256Hex(model.bytes));
    expect(version.inputs).toEqual([{ name: "features", datatype: "FP32", shape: [-1, 3] }]);
    expect(version.outputs).toEqual([{ name: "logits", datatype: "FP32", shape: [-1, 2] }]);
    const again = await hub.client.request<{ version: number }>(
      "POST",
      "/api/v1/models/tiny/versions",
      model.bytes,
    );
    expect(again.version).toBe(2);
  });

  it("packages a signed module and serves its tarball with Range", async () => {
    const created = await hub.client.post<{
      tarballSha256: string;
      tarballSize: number;
      manifest: { model: { sha256: string } };
    }>("/api/v1/modules", {
      name: "tiny",
      version: "1.0.0",
      model: { name: "tiny", version: 1 },
      postprocessing: { kind: "argmax", output: "logits", labels: ["no", "yes"] },
    });
    expect(created.manifest.model.sha256).toBe(sha256Hex(model.bytes));
    const whole = await fetch(`${hub.url}/api/v1/blobs/${created.tarballSha256}`, {
      headers: { authorization: `Bearer ${hub.adminToken}` },
    });
    expect(whole.status).toBe(200);
    const bytes = new Uint8Array(await whole.arrayBuffer());
    expect(sha256Hex(bytes)).toBe(created.tarballSha256);
    const part = await fetch(`${hub.url}/api/v1/blobs/${created.tarballSha256}`, {
      headers: { authorization: `Bearer ${hub.adminToken}`, range: "bytes=10-" },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 10-${bytes.length - 1}/${bytes.length}`);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(bytes.slice(10));
    const outside = await fetch(`${hub.url}/api/v1/blobs/${created.tarballSha256}`, {
      headers: { authorization: `Bearer ${hub.adminToken}`, range: `bytes=${bytes.length + 5}-` },
    });
    expect(outside.status).toBe(416);
  });

  it("provisions devices, lists them by tag and deploys by tag", async () => {
    const a = await hub.client.post<{ device: { id: string }; secret: string; trustKey: string }>(
      "/api/v1/devices",
      {
        id: "cam-1",
        tags: { site: "north" },
      },
    );
    expect(a.secret.length).toBeGreaterThan(20);
    expect(a.trustKey).toContain("BEGIN PUBLIC KEY");
    await hub.client.post("/api/v1/devices", { id: "cam-2", tags: { site: "south" } });
    const north = await hub.client.get<{ devices: { id: string }[] }>("/api/v1/devices?tag=site=north");
    expect(north.devices.map((d) => d.id)).toEqual(["cam-1"]);
    expect(JSON.stringify(north)).not.toContain("secret");

    const deployment = await hub.client.post<{ id: string; targetDeviceIds: string[] }>(
      "/api/v1/deployments",
      {
        module: "tiny",
        version: "1.0.0",
        selector: { tags: { site: "north" } },
      },
    );
    expect(deployment.targetDeviceIds).toEqual(["cam-1"]);
    const device = await hub.client.get<{
      desired: { revision: number; modules: { name: string; version: string; url: string }[] };
    }>("/api/v1/devices/cam-1");
    expect(device.desired.revision).toBe(1);
    expect(device.desired.modules).toMatchObject([{ name: "tiny", version: "1.0.0" }]);
    const status = await hub.client.get<{ counts: Record<string, number> }>(
      `/api/v1/deployments/${deployment.id}`,
    );
    expect(status.counts).toMatchObject({ targeted: 1, pending: 1, active: 0 });
  });
});

describe("bad input changes nothing", () => {
  it("refuses malformed model uploads, bad names and oversize declarations", async () => {
    await expectApiError(
      hub.client.request("POST", "/api/v1/models/tiny/versions", new TextEncoder().encode("garbage")),
      400,
      "invalid_model",
    );
    await expectApiError(
      hub.client.request("POST", "/api/v1/models/Bad%20Name/versions", model.bytes),
      400,
      "bad_request",
    );
    const versions = await hub.client.get<{ versions: unknown[] }>("/api/v1/models/tiny/versions");
    expect(versions.versions).toHaveLength(2);
  });

  it("refuses duplicate, unknown-model and invalid modules", async () => {
    const body = { name: "tiny", version: "1.0.0", model: { name: "tiny", version: 1 } };
    await expectApiError(hub.client.post("/api/v1/modules", body), 409, "conflict");
    await expectApiError(
      hub.client.post("/api/v1/modules", { ...body, version: "2.0.0", model: { name: "tiny", version: 99 } }),
      404,
    );
    await expectApiError(hub.client.post("/api/v1/modules", { ...body, version: "not-semver" }), 400);
    await expectApiError(
      hub.client.post("/api/v1/modules", {
        ...body,
        version: "2.0.0",
        postprocessing: { kind: "softmax", output: "nope" },
      }),
      400,
    );
    const modules = await hub.client.get<{ modules: unknown[] }>("/api/v1/modules?name=tiny");
    expect(modules.modules).toHaveLength(1);
  });

  it("refuses duplicate device ids and bad ids", async () => {
    await expectApiError(hub.client.post("/api/v1/devices", { id: "cam-1" }), 409);
    await expectApiError(hub.client.post("/api/v1/devices", { id: "Not_A_Valid_Id" }), 400);
    await expectApiError(hub.client.post("/api/v1/devices", { id: "edgefleet-hub-2" }), 400);
    await expectApiError(hub.client.get("/api/v1/devices/missing"), 404, "not_found");
  });

  it("refuses deployments to unknown modules, unknown devices or empty selectors, without touching desired state", async () => {
    await expectApiError(
      hub.client.post("/api/v1/deployments", {
        module: "tiny",
        version: "9.9.9",
        selector: { deviceIds: ["cam-1"] },
      }),
      404,
    );
    await expectApiError(
      hub.client.post("/api/v1/deployments", {
        module: "tiny",
        version: "1.0.0",
        selector: { deviceIds: ["ghost"] },
      }),
      400,
    );
    await expectApiError(
      hub.client.post("/api/v1/deployments", { module: "tiny", version: "1.0.0", selector: {} }),
      400,
    );
    await expectApiError(
      hub.client.post("/api/v1/deployments", {
        module: "tiny",
        version: "1.0.0",
        selector: { tags: { site: "mars" } },
      }),
      400,
    );
    const device = await hub.client.get<{ desired: { revision: number } }>("/api/v1/devices/cam-1");
    expect(device.desired.revision).toBe(1);
    const cam2 = await hub.client.get<{ desired: unknown }>("/api/v1/devices/cam-2");
    expect(cam2.desired).toBeNull();
  });

  it("answers unknown routes and bad blob hashes with the error shape", async () => {
    const response = await fetch(`${hub.url}/api/v1/nothing-here`, {
      headers: { authorization: `Bearer ${hub.adminToken}` },
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: "not_found" } });
    await expectApiError(hub.client.get("/api/v1/blobs/abc"), 400);
    await expectApiError(hub.client.get(`/api/v1/blobs/${"0".repeat(64)}`), 404);
  });
});

describe("security", () => {
  it("refuses requests without or with unknown credentials", async () => {
    await expectApiError(new HubClient({ url: hub.url }).get("/api/v1/devices"), 401, "unauthorized");
    await expectApiError(new HubClient({ url: hub.url, token: "ef_nope" }).get("/api/v1/devices"), 401);
  });

  it("enforces roles: viewers read, operators write, admins manage tokens", async () => {
    const viewer = await hub.client.post<{ token: string }>("/api/v1/tokens", {
      name: "dash",
      role: "viewer",
    });
    const operator = await hub.client.post<{ token: string; id: string }>("/api/v1/tokens", {
      name: "ci",
      role: "operator",
    });
    const asViewer = new HubClient({ url: hub.url, token: viewer.token });
    const asOperator = new HubClient({ url: hub.url, token: operator.token });
    await asViewer.get("/api/v1/devices");
    await expectApiError(asViewer.post("/api/v1/devices", { id: "viewer-made" }), 403, "forbidden");
    await asOperator.post("/api/v1/devices", { id: "operator-made" });
    await expectApiError(asOperator.get("/api/v1/tokens"), 403);
    await hub.client.request("DELETE", `/api/v1/tokens/${operator.id}`);
    await expectApiError(asOperator.get("/api/v1/devices"), 401);
  });

  it("lets a device read blobs and the signing key, and nothing else", async () => {
    const { device, secret } = await hub.client.post<{ device: { id: string }; secret: string }>(
      "/api/v1/devices",
      { id: "dev-basic" },
    );
    const asDevice = new HubClient({ url: hub.url, device: { id: device.id, secret } });
    const key = await asDevice.get<{ publicKeyPem: string }>("/api/v1/signing-key");
    expect(key.publicKeyPem).toBe(hub.parts.signing.publicKeyPem);
    await expectApiError(asDevice.get("/api/v1/devices"), 403);
    await expectApiError(
      new HubClient({ url: hub.url, device: { id: device.id, secret: "wrong" } }).get("/api/v1/signing-key"),
      401,
    );
  });
});

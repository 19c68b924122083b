/** The module routes on `app.request()`: a real PGlite store, blob store and signing key, no sockets. */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { unpackModule } from "../../modules/unpack.js";
import { type ApiTestApp, createApiTestApp } from "../support/api-app.js";
import { expectApiError, expectJson } from "../support/api-expect.js";

let api: ApiTestApp;
const model = buildMlpClassifier({ inputSize: 3, hiddenSizes: [4], classes: 2, seed: 3 });
const body = { name: "tiny", version: "1.0.0", model: { name: "tiny", version: 1 } };

type ModuleRecord = {
  name: string;
  version: string;
  tarballSha256: string;
  manifest: Record<string, unknown>;
};

beforeAll(async () => {
  api = await createApiTestApp();
  await expectJson(
    await api.call("POST", "/api/v1/models/tiny/versions", {
      body: model.bytes,
      headers: { "content-type": "application/octet-stream" },
    }),
  );
});
afterAll(async () => {
  await api?.close();
});

describe("happy path", () => {
  it("packages a model version into a signed module stored as a blob", async () => {
    const created = await expectJson<ModuleRecord>(
      await api.call("POST", "/api/v1/modules", {
        as: "operator",
        json: { ...body, postprocessing: { kind: "argmax", output: "logits", labels: ["a", "b"] } },
      }),
    );
    expect(created).toMatchObject({ name: "tiny", version: "1.0.0" });
    expect(await api.blobs.stat(created.tarballSha256)).not.toBeNull();
    expect(created.manifest).toMatchObject({
      name: "tiny",
      version: "1.0.0",
      source: { model: "tiny", modelVersion: 1 },
    });
    // Signed with the hub's key: it unpacks under that key as a device would.
    const dest = await mkdtemp(join(tmpdir(), "edgefleet-unpack-"));
    try {
      const manifest = await unpackModule({
        tarball: api.blobs.path(created.tarballSha256),
        destDir: join(dest, "module"),
        publicKeyPem: api.signing.publicKeyPem,
      });
      expect(manifest.name).toBe("tiny");
    } finally {
      await rm(dest, { recursive: true, force: true });
    }
  });

  it("lists module versions, by name too, and shows one", async () => {
    await expectJson(await api.call("POST", "/api/v1/modules", { json: { ...body, version: "1.1.0" } }));
    const all = await expectJson<{ modules: ModuleRecord[] }>(
      await api.call("GET", "/api/v1/modules", { as: "viewer" }),
    );
    expect(all.modules.map((m) => m.version).sort()).toEqual(["1.0.0", "1.1.0"]);
    const none = await expectJson<{ modules: ModuleRecord[] }>(
      await api.call("GET", "/api/v1/modules?name=other", { as: "viewer" }),
    );
    expect(none.modules).toEqual([]);
    const one = await expectJson<ModuleRecord>(
      await api.call("GET", "/api/v1/modules/tiny/versions/1.1.0", { as: "viewer" }),
    );
    expect(one.version).toBe("1.1.0");
  });
});

describe("bad input gets a 4xx and changes nothing", () => {
  it("refuses a duplicate version and keeps the first tarball", async () => {
    const before = await api.repos.modules.get("tiny", "1.0.0");
    await expectApiError(await api.call("POST", "/api/v1/modules", { json: body }), 409, "conflict");
    expect(await api.repos.modules.get("tiny", "1.0.0")).toEqual(before);
  });

  it("refuses unknown models and variant models with 404", async () => {
    await expectApiError(
      await api.call("POST", "/api/v1/modules", {
        json: { ...body, version: "2.0.0", model: { name: "tiny", version: 99 } },
      }),
      404,
      "not_found",
    );
    await expectApiError(
      await api.call("POST", "/api/v1/modules", {
        json: {
          ...body,
          version: "2.0.1",
          variants: [{ name: "big", model: { name: "ghost", version: 1 }, requires: {} }],
        },
      }),
      404,
      "not_found",
    );
    expect(await api.repos.modules.get("tiny", "2.0.0")).toBeNull();
    expect(await api.repos.modules.get("tiny", "2.0.1")).toBeNull();
  });

  it("refuses malformed definitions with the validation issues", async () => {
    const refused = [
      { ...body, version: "not-semver" },
      { ...body, name: "Bad Name" },
      { ...body, version: "2.0.2", model: { name: "tiny", version: 0 } },
      { ...body, version: "2.0.3", postprocessing: { kind: "softmax", output: "nope" } },
      { ...body, version: "2.0.4", postprocessing: { kind: "no-such-kind" } },
    ];
    for (const json of refused) {
      const error = await expectApiError(
        await api.call("POST", "/api/v1/modules", { json }),
        400,
        "bad_request",
      );
      expect(Array.isArray(error.details) || error.details === undefined).toBe(true);
    }
    const modules = await api.repos.modules.list("tiny");
    expect(modules.map((m) => m.version).sort()).toEqual(["1.0.0", "1.1.0"]);
  });

  it("answers an unknown module version with 404", async () => {
    await expectApiError(await api.call("GET", "/api/v1/modules/tiny/versions/9.9.9"), 404, "not_found");
  });
});

describe("roles", () => {
  it("lets viewers read and refuses them packaging", async () => {
    await expectJson(await api.call("GET", "/api/v1/modules", { as: "viewer" }));
    await expectApiError(
      await api.call("POST", "/api/v1/modules", { as: "viewer", json: { ...body, version: "3.0.0" } }),
      403,
      "forbidden",
    );
    expect(await api.repos.modules.get("tiny", "3.0.0")).toBeNull();
    await expectApiError(await api.call("GET", "/api/v1/modules", { as: null }), 401, "unauthorized");
  });
});

/**
 * `Idempotency-Key` on the creating POSTs, on `app.request()` over a real PGlite store and rollout
 * controller: a retried POST /deployments creates one deployment and gets the first answer back,
 * the same key with another body is refused and changes nothing, two concurrent requests with one
 * key run once, and a request that did not succeed leaves its key free.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { type ApiTestApp, createApiTestApp } from "../support/api-app.js";
import { expectApiError, expectJson } from "../support/api-expect.js";

let api: ApiTestApp;
const model = buildMlpClassifier({ inputSize: 3, hiddenSizes: [4], classes: 2, seed: 3 });
const deployment = (site: string) => ({
  module: "tiny",
  version: "1.0.0",
  selector: { tags: { site } },
  bakeMs: 3_600_000,
});

beforeAll(async () => {
  api = await createApiTestApp();
  await expectJson(
    await api.call("POST", "/api/v1/models/tiny/versions", {
      body: model.bytes,
      headers: { "content-type": "application/octet-stream" },
    }),
  );
  await expectJson(
    await api.call("POST", "/api/v1/modules", {
      json: { name: "tiny", version: "1.0.0", model: { name: "tiny", version: 1 } },
    }),
  );
  for (const [id, site] of [
    ["cam-1", "north"],
    ["cam-2", "south"],
  ]) {
    await expectJson(await api.call("POST", "/api/v1/devices", { json: { id, tags: { site } } }));
  }
});
afterAll(async () => {
  await api?.close();
});

const deploymentCount = async () => (await api.repos.deployments.list({})).length;
const post = (key: string, json: unknown, as: "admin" | "operator" = "operator") =>
  api.call("POST", "/api/v1/deployments", { as, json, headers: { "idempotency-key": key } });

describe("Idempotency-Key on POST /deployments", () => {
  it("a retry with the same key gets the first answer back and deploys once", async () => {
    const before = await deploymentCount();
    const published = api.link.desired.length;
    const first = await post("retry-1", deployment("north"));
    const firstBody = await expectJson<{ id: string }>(first);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const again = await post("retry-1", deployment("north"));
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.headers.get("content-type")).toContain("application/json");
    expect(await expectJson<{ id: string }>(again)).toEqual(firstBody);
    expect(await deploymentCount()).toBe(before + 1);
    expect(api.link.desired.length - published).toBe(1);
  });

  it("the same key with another body is a 422 in the API's error shape and changes nothing", async () => {
    await expectJson(await post("reused-1", deployment("north")));
    const before = await deploymentCount();
    const published = api.link.desired.length;
    const refused = await expectApiError(
      await post("reused-1", deployment("south")),
      422,
      "idempotency_key_reused",
    );
    expect(refused.message).toMatch(/different request/);
    expect(await deploymentCount()).toBe(before);
    expect(api.link.desired.length).toBe(published);
  });

  it("two concurrent requests with one key run once and both get the deployment", async () => {
    const before = await deploymentCount();
    const answers = await Promise.all([
      post("race-1", deployment("south")),
      post("race-1", deployment("south")),
    ]);
    const bodies = await Promise.all(answers.map((answer) => expectJson<{ id: string }>(answer)));
    expect(bodies[0]!.id).toBe(bodies[1]!.id);
    expect(answers.map((a) => a.headers.get("idempotent-replayed")).sort()).toEqual([null, "true"].sort());
    expect(await deploymentCount()).toBe(before + 1);
  });

  it("keys belong to their caller: another token's request with the same key runs as its own", async () => {
    const before = await deploymentCount();
    const mine = await expectJson<{ id: string }>(await post("shared-1", deployment("north"), "operator"));
    const theirs = await expectJson<{ id: string }>(await post("shared-1", deployment("north"), "admin"));
    expect(theirs.id).not.toBe(mine.id);
    expect(await deploymentCount()).toBe(before + 2);
  });

  it("a refused request leaves its key free: the corrected request with the same key runs", async () => {
    const before = await deploymentCount();
    await expectApiError(await post("fix-1", { ...deployment("north"), version: "9.9.9" }), 404, "not_found");
    expect(await deploymentCount()).toBe(before);
    await expectJson(await post("fix-1", deployment("north")));
    expect(await deploymentCount()).toBe(before + 1);
  });

  it("refuses a malformed key before anything runs", async () => {
    const before = await deploymentCount();
    await expectApiError(await post("with space", deployment("north")), 400, "bad_request");
    await expectApiError(await post("x".repeat(256), deployment("north")), 400, "bad_request");
    expect(await deploymentCount()).toBe(before);
  });
});

describe("Idempotency-Key on the other creating POSTs", () => {
  it("POST /devices with the same key provisions once and answers the same secret", async () => {
    const provision = () =>
      api.call("POST", "/api/v1/devices", {
        json: { id: "cam-9", tags: { site: "east" } },
        headers: { "idempotency-key": "device-9" },
      });
    const first = await expectJson<{ id: string; secret: string }>(await provision());
    const again = await provision();
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(first);
    // The database keeps neither the key nor the secret in the answer: only a hash and a sealed body.
    const stored = JSON.stringify(await api.database.db.query.idempotencyKeys.findMany());
    expect(stored).toContain("/api/v1/devices");
    expect(stored).not.toContain("device-9");
    expect(stored).not.toContain(first.secret);
    // Without the key the same request is the duplicate it is.
    await expectApiError(
      await api.call("POST", "/api/v1/devices", { json: { id: "cam-9", tags: { site: "east" } } }),
      409,
      "conflict",
    );
  });

  it("routes that are not creating POSTs ignore the header", async () => {
    const list = await api.call("GET", "/api/v1/deployments", { headers: { "idempotency-key": "any" } });
    expect(list.status).toBe(200);
    expect(list.headers.get("idempotent-replayed")).toBeNull();
  });
});

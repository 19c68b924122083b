/**
 * The deployment routes on `app.request()`: a real PGlite store and rollout controller, a link that
 * records desired states instead of publishing them, no sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { type ApiTestApp, createApiTestApp, TEST_URLS } from "../support/api-app.js";
import { expectApiError, expectJson } from "../support/api-expect.js";

let api: ApiTestApp;
const model = buildMlpClassifier({ inputSize: 3, hiddenSizes: [4], classes: 2, seed: 3 });

type DeploymentView = {
  id: string;
  status: string;
  targetDeviceIds: string[];
  counts: Record<string, number>;
  waves: { state: string }[];
  devices: { deviceId: string; state: string }[];
};

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
    ["cam-2", "north"],
    ["cam-3", "south"],
  ]) {
    await expectJson(await api.call("POST", "/api/v1/devices", { json: { id, tags: { site } } }));
  }
});
afterAll(async () => {
  await api?.close();
});

/** What a refused request must leave alone: deployments, desired states and publishes. */
async function snapshot() {
  return {
    deployments: (await api.repos.deployments.list({})).length,
    desired: (await api.repos.devices.list({})).map((d) => [d.id, d.desired?.revision ?? null]),
    published: api.link.desired.length,
  };
}

describe("happy path", () => {
  let id: string;

  it("deploys a canary by tag: targets resolved, the canary's desired state published with the hub's download URL", async () => {
    const created = await expectJson<DeploymentView>(
      await api.call("POST", "/api/v1/deployments", {
        as: "operator",
        // A long bake keeps the rollout active on its first wave for the tests below.
        json: {
          module: "tiny",
          version: "1.0.0",
          selector: { tags: { site: "north" } },
          canary: { count: 1 },
          bakeMs: 3_600_000,
        },
      }),
    );
    id = created.id;
    expect(created.targetDeviceIds).toEqual(["cam-1", "cam-2"]);
    expect(created.status).toBe("active");
    const published = api.link.desired.filter((d) => d.state.modules.some((m) => m.name === "tiny"));
    expect(published.map((p) => p.deviceId)).toEqual(["cam-1"]);
    const module = await api.repos.modules.get("tiny", "1.0.0");
    expect(published[0]!.state.modules[0]!.url).toBe(
      `${TEST_URLS.api}/api/v1/blobs/${module!.tarballSha256}`,
    );
    expect((await api.repos.devices.get("cam-3"))!.desired).toBeNull();
  });

  it("shows the deployment with waves, per-device state and counts, and lists it", async () => {
    const view = await expectJson<DeploymentView>(
      await api.call("GET", `/api/v1/deployments/${id}`, { as: "viewer" }),
    );
    expect(view.counts).toMatchObject({ targeted: 2, pending: 1, unreleased: 1, active: 0, skipped: 0 });
    expect(view.devices.map((d) => d.deviceId)).toEqual(["cam-1", "cam-2"]);
    expect(view.waves.map((w) => w.state)).toEqual(["baking", "waiting"]);
    const active = await expectJson<{ deployments: { id: string }[] }>(
      await api.call("GET", "/api/v1/deployments?status=active&module=tiny", { as: "viewer" }),
    );
    expect(active.deployments.map((d) => d.id)).toContain(id);
    const none = await expectJson<{ deployments: unknown[] }>(
      await api.call("GET", "/api/v1/deployments?module=other", { as: "viewer" }),
    );
    expect(none.deployments).toEqual([]);
  });

  it("pauses and resumes; a command from the wrong state is a 409 that changes nothing", async () => {
    const paused = await expectJson<DeploymentView>(
      await api.call("POST", `/api/v1/deployments/${id}/pause`),
    );
    expect(paused.status).toBe("paused");
    const before = await api.repos.deployments.get(id);
    await expectApiError(await api.call("POST", `/api/v1/deployments/${id}/pause`), 409, "conflict");
    expect(await api.repos.deployments.get(id)).toEqual(before);
    const resumed = await expectJson<DeploymentView>(
      await api.call("POST", `/api/v1/deployments/${id}/resume`),
    );
    expect(resumed.status).toBe("active");
  });
});

describe("bad input gets a 4xx and changes nothing", () => {
  it("refuses unknown modules, unknown devices, empty and unmatched selectors", async () => {
    const before = await snapshot();
    const deploy = (json: unknown) => api.call("POST", "/api/v1/deployments", { json });
    await expectApiError(
      await deploy({ module: "tiny", version: "9.9.9", selector: { deviceIds: ["cam-1"] } }),
      404,
      "not_found",
    );
    const unknown = await expectApiError(
      await deploy({ module: "tiny", version: "1.0.0", selector: { deviceIds: ["cam-1", "ghost"] } }),
      400,
      "bad_request",
    );
    expect(unknown.details).toEqual({ unknown: ["ghost"] });
    await expectApiError(
      await deploy({ module: "tiny", version: "1.0.0", selector: {} }),
      400,
      "bad_request",
    );
    await expectApiError(
      await deploy({ module: "tiny", version: "1.0.0", selector: { tags: { site: "mars" } } }),
      400,
      "bad_request",
    );
    expect(await snapshot()).toEqual(before);
  });

  it("refuses malformed rollouts: bad waves and canaries, bad priority, bad ids, bad JSON", async () => {
    const before = await snapshot();
    const base = { module: "tiny", version: "1.0.0", selector: { tags: { site: "north" } } };
    const refused = [
      { ...base, waves: [{ percent: 50 }, { percent: 10 }] },
      { ...base, waves: [{ percent: 50 }] },
      { ...base, waves: [{ count: 1 }] },
      { ...base, canary: { count: 1, percent: 10 } },
      { ...base, priority: 1.5 },
      { ...base, selector: { deviceIds: ["BAD_ID"] } },
      { ...base, module: "" },
      { ...base, gates: { activationTimeoutMs: 0 } },
      { ...base, gates: { activationTimeoutMs: 1.5e3 + 0.5 } },
      { ...base, gates: { onOffline: "ignore" } },
      { ...base, shadow: { minAgreement: 2 } },
      { ...base, shadow: { bakeMs: -1 } },
      { ...base, shadow: { promote: true } },
    ];
    for (const json of refused) {
      await expectApiError(await api.call("POST", "/api/v1/deployments", { json }), 400, "bad_request");
    }
    await expectApiError(
      await api.call("POST", "/api/v1/deployments", {
        body: "{",
        headers: { "content-type": "application/json" },
      }),
      400,
      "bad_request",
    );
    expect(await snapshot()).toEqual(before);
  });

  it("answers bad and unknown deployment ids with 400 and 404", async () => {
    await expectApiError(await api.call("GET", "/api/v1/deployments/not-a-uuid"), 400, "bad_request");
    const ghost = "00000000-0000-4000-8000-000000000000";
    await expectApiError(await api.call("GET", `/api/v1/deployments/${ghost}`), 404, "not_found");
    await expectApiError(await api.call("POST", `/api/v1/deployments/${ghost}/abort`), 404, "not_found");
  });
});

describe("roles", () => {
  it("lets viewers read and refuses them deploying and steering", async () => {
    const before = await snapshot();
    const [deployment] = await api.repos.deployments.list({});
    await expectJson(await api.call("GET", "/api/v1/deployments", { as: "viewer" }));
    await expectApiError(
      await api.call("POST", "/api/v1/deployments", {
        as: "viewer",
        json: { module: "tiny", version: "1.0.0", selector: { tags: { site: "south" } } },
      }),
      403,
      "forbidden",
    );
    await expectApiError(
      await api.call("POST", `/api/v1/deployments/${deployment!.id}/abort`, { as: "viewer" }),
      403,
      "forbidden",
    );
    expect(await snapshot()).toEqual(before);
    expect((await api.repos.deployments.get(deployment!.id))!.status).toBe("active");
  });
});

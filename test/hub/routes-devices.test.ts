/** The device routes on `app.request()`: a real PGlite store, no sockets. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiTestApp, createApiTestApp, TEST_URLS } from "../support/api-app.js";
import { expectApiError, expectJson } from "../support/api-expect.js";

let api: ApiTestApp;

beforeAll(async () => {
  api = await createApiTestApp();
});
afterAll(async () => {
  await api?.close();
});

type Provisioned = {
  device: { id: string; tags: Record<string, string>; profile: string | null };
  secret: string;
  hubUrl: string;
  mqttUrl: string;
  trustKey: string;
};

describe("happy path", () => {
  it("provisions a device with the addresses and trust key it needs, and a secret that works", async () => {
    const body = await expectJson<Provisioned>(
      await api.call("POST", "/api/v1/devices", { json: { id: "cam-1", tags: { site: "north" } } }),
    );
    expect(body.device).toMatchObject({ id: "cam-1", tags: { site: "north" } });
    expect(body.hubUrl).toBe(TEST_URLS.api);
    expect(body.mqttUrl).toBe(TEST_URLS.mqtt);
    expect(body.trustKey).toBe(api.signing.publicKeyPem);
    expect(await api.repos.devices.verifySecret("cam-1", body.secret)).toBe(true);
  });

  it("gives a provisioned device without an id a generated one", async () => {
    const body = await expectJson<Provisioned>(await api.call("POST", "/api/v1/devices", { json: {} }));
    expect(body.device.id).toMatch(/^[a-z0-9-]+$/);
    expect(await api.repos.devices.get(body.device.id)).not.toBeNull();
  });

  it("lists by tag selector and by ids, never with secrets", async () => {
    await api.call("POST", "/api/v1/devices", { json: { id: "cam-2", tags: { site: "south" } } });
    const north = await expectJson<{ devices: { id: string }[] }>(
      await api.call("GET", "/api/v1/devices?tag=site=north", { as: "viewer" }),
    );
    expect(north.devices.map((d) => d.id)).toEqual(["cam-1"]);
    const byIds = await expectJson<{ devices: { id: string }[] }>(
      await api.call("GET", "/api/v1/devices?ids=cam-2,cam-1", { as: "viewer" }),
    );
    expect(byIds.devices.map((d) => d.id).sort()).toEqual(["cam-1", "cam-2"]);
    expect(JSON.stringify(byIds)).not.toMatch(/secret/i);
  });

  it("shows one device with its profile check and its merge view", async () => {
    const device = await expectJson<{
      id: string;
      profileCheck: unknown;
      merge: unknown[];
      desired: unknown;
    }>(await api.call("GET", "/api/v1/devices/cam-1", { as: "viewer" }));
    expect(device.id).toBe("cam-1");
    expect(device.profileCheck).toBeDefined();
    expect(device.merge).toEqual([]);
    expect(device.desired).toBeNull();
  });
});

describe("bad input gets a 4xx and changes nothing", () => {
  it("refuses a duplicate id and keeps the first device's secret", async () => {
    const first = await expectJson<Provisioned>(
      await api.call("POST", "/api/v1/devices", { json: { id: "dup-1" } }),
    );
    await expectApiError(
      await api.call("POST", "/api/v1/devices", { json: { id: "dup-1" } }),
      409,
      "conflict",
    );
    expect(await api.repos.devices.verifySecret("dup-1", first.secret)).toBe(true);
  });

  it("refuses bad ids, unknown profiles, bad tags and malformed bodies", async () => {
    const before = (await api.repos.devices.list({})).length;
    const refused = [
      { json: { id: "Not_A_Valid_Id" } },
      { json: { id: "edgefleet-hub-2" } },
      { json: { id: "ok-1", profile: "no-such-profile" } },
      { json: { id: "ok-2", tags: { "bad key": "x" } } },
      { json: { id: "ok-3", name: "x".repeat(129) } },
      { body: "{not json", headers: { "content-type": "application/json" } },
    ];
    for (const request of refused) {
      const error = await expectApiError(
        await api.call("POST", "/api/v1/devices", request),
        400,
        "bad_request",
      );
      expect(error.message).not.toMatch(/internal/);
    }
    expect(await api.repos.devices.list({})).toHaveLength(before);
    for (const id of ["ok-1", "ok-2", "ok-3"]) expect(await api.repos.devices.get(id)).toBeNull();
  });

  it("refuses a tag selector that is not key=value and bad ids in the ids list", async () => {
    const error = await expectApiError(await api.call("GET", "/api/v1/devices?tag=site"), 400, "bad_request");
    expect(error.message).toBe('tag selector "site" is not key=value');
    await expectApiError(await api.call("GET", "/api/v1/devices?ids=cam-1,BAD_ID"), 400, "bad_request");
  });

  it("answers an unknown device with 404", async () => {
    const error = await expectApiError(await api.call("GET", "/api/v1/devices/missing"), 404, "not_found");
    expect(error.message).toContain("missing");
  });
});

describe("roles", () => {
  it("lets viewers read and refuses them provisioning", async () => {
    await expectJson(await api.call("GET", "/api/v1/devices", { as: "viewer" }));
    await expectApiError(
      await api.call("POST", "/api/v1/devices", { as: "viewer", json: { id: "by-viewer" } }),
      403,
      "forbidden",
    );
    expect(await api.repos.devices.get("by-viewer")).toBeNull();
    await expectJson(
      await api.call("POST", "/api/v1/devices", { as: "operator", json: { id: "by-operator" } }),
    );
  });

  it("refuses requests without or with unknown credentials", async () => {
    await expectApiError(await api.call("GET", "/api/v1/devices", { as: null }), 401, "unauthorized");
    await expectApiError(
      await api.call("GET", "/api/v1/devices", { as: null, headers: { authorization: "Bearer nope" } }),
      401,
      "unauthorized",
    );
  });

  it("refuses a device's own credentials on the device routes", async () => {
    const { secret } = await expectJson<Provisioned>(
      await api.call("POST", "/api/v1/devices", { json: { id: "self-1" } }),
    );
    const basic = `Basic ${Buffer.from(`self-1:${secret}`).toString("base64")}`;
    await expectApiError(
      await api.call("GET", "/api/v1/devices/self-1", { as: null, headers: { authorization: basic } }),
      403,
      "forbidden",
    );
  });
});

/** Profiles routes, provisioning with profiles, profileCheck on devices, module variants through the API. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HubApiError } from "../../hub-api/client.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { startTestHub, type TestHub } from "../support/hub.js";

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(() => hub.dispose());

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: HubApiError) => error,
  );

describe("profiles API", () => {
  it("lists and shows profiles", async () => {
    const { profiles } = await hub.client.get<{ profiles: { id: string }[] }>("/api/v1/profiles");
    expect(profiles.map((p) => p.id)).toContain("jetson-orin-nano");
    const one = await hub.client.get<{ arch: string }>("/api/v1/profiles/x86-64-gateway");
    expect(one.arch).toBe("x64");
  });

  it("answers 404 naming the known profiles for an unknown id, 401 without a token", async () => {
    const error = await failure(hub.client.get("/api/v1/profiles/toaster"));
    expect(error).toMatchObject({ status: 404 });
    expect(String(error?.message)).toMatch(/raspberry-pi-5/);
    expect((await fetch(`${hub.url}/api/v1/profiles`)).status).toBe(401);
  });

  it("refuses provisioning with an unknown profile and creates nothing", async () => {
    const error = await failure(hub.client.post("/api/v1/devices", { id: "p-bad", profile: "toaster" }));
    expect(error).toMatchObject({ status: 400 });
    expect(await failure(hub.client.get("/api/v1/devices/p-bad"))).toMatchObject({ status: 404 });
  });

  it("shows a profile check on provisioned devices", async () => {
    await hub.client.post("/api/v1/devices", { id: "p-good", profile: "raspberry-pi-5" });
    const device = await hub.client.get<{ profileCheck: { ok: boolean; note?: string } }>(
      "/api/v1/devices/p-good",
    );
    expect(device.profileCheck).toEqual({
      ok: true,
      problems: [],
      note: "the agent has not reported capabilities yet",
    });
  });
});

describe("module variants through the API", () => {
  it("packages variant model versions into the module", async () => {
    const base = buildMlpClassifier({ inputSize: 3, hiddenSizes: [8], classes: 2, seed: 1 });
    const small = buildMlpClassifier({ inputSize: 3, hiddenSizes: [2], classes: 2, seed: 2 });
    const v1 = await hub.client.request<{ version: number }>(
      "POST",
      "/api/v1/models/var/versions",
      base.bytes,
    );
    const v2 = await hub.client.request<{ version: number }>(
      "POST",
      "/api/v1/models/var/versions",
      small.bytes,
    );
    const created = await hub.client.post<{
      manifest: { variants: { name: string; model: { size: number } }[] };
    }>("/api/v1/modules", {
      name: "var",
      version: "1.0.0",
      model: { name: "var", version: v1.version },
      variants: [
        { name: "small", model: { name: "var", version: v2.version }, requires: { precision: ["int8"] } },
      ],
    });
    expect(created.manifest.variants).toEqual([
      expect.objectContaining({
        name: "small",
        model: expect.objectContaining({ size: small.bytes.byteLength }),
      }),
    ]);
  });

  it("refuses an unknown variant model version or requirement", async () => {
    const body = (variant: object) => ({
      name: "var",
      version: "2.0.0",
      model: { name: "var", version: 1 },
      variants: [variant],
    });
    expect(
      await failure(
        hub.client.post("/api/v1/modules", body({ name: "x", model: { name: "var", version: 99 } })),
      ),
    ).toMatchObject({
      status: 404,
    });
    expect(
      await failure(
        hub.client.post(
          "/api/v1/modules",
          body({ name: "x", model: { name: "var", version: 1 }, requires: { gpu: true } }),
        ),
      ),
    ).toMatchObject({ status: 400 });
  });
});

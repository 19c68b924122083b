/** The console's hub routes on `app.request()`: paged fleet, summary, live stream, static files. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiTestApp, createApiTestApp } from "../support/api-app.js";
import { expectApiError, expectJson } from "../support/api-expect.js";

let api: ApiTestApp;
const at = new Date("2026-01-01T00:00:00.000Z");

type Page = {
  devices: {
    id: string;
    online: boolean;
    modules: { name: string; version: string }[];
    profileCheck: { ok: boolean };
  }[];
  total: number;
  next: string | null;
};

beforeAll(async () => {
  api = await createApiTestApp();
  // 30 devices: even ones online at site a, every third on a Raspberry Pi 5 profile with the wrong arch.
  for (let i = 0; i < 30; i++) {
    const id = `dev-${String(i).padStart(3, "0")}`;
    await api.repos.devices.provision({
      id,
      name: i === 7 ? "Loading_Dock" : id,
      tags: { site: i % 2 === 0 ? "a" : "b" },
      profile: i % 3 === 0 ? "raspberry-pi-5" : null,
    });
    await api.repos.devices.setStatus(
      id,
      {
        protocol: 1,
        online: i % 2 === 0,
        agentVersion: "0.1.0",
        capabilities: {
          arch: "x64",
          platform: "linux",
          cpus: 4,
          memoryMb: 8192,
          executionProviders: ["cpu"],
        },
        at: at.toISOString(),
      } as never,
      at,
    );
    await api.repos.devices.setReported(
      id,
      {
        protocol: 1,
        revision: 1,
        modules: [
          { name: "iris", version: i < 10 ? "1.0.0" : "2.0.0", state: "active", since: at.toISOString() },
        ],
        at: at.toISOString(),
      } as never,
      at,
    );
  }
});
afterAll(async () => {
  await api?.close();
});

describe("happy path", () => {
  it("pages the fleet by id with a total, and the pages join up without gaps or repeats", async () => {
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: Page = await expectJson<Page>(
        await api.call("GET", `/api/v1/fleet/devices?limit=7${after ? `&after=${after}` : ""}`, {
          as: "viewer",
        }),
      );
      expect(page.total).toBe(30);
      expect(page.devices.length).toBeLessThanOrEqual(7);
      seen.push(...page.devices.map((d) => d.id));
      after = page.next;
    } while (after);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(30);
  });

  it("filters by text, selector, online state, profile and module version together", async () => {
    const text = await expectJson<Page>(await api.call("GET", "/api/v1/fleet/devices?q=loading_dock"));
    expect(text.devices.map((d) => d.id)).toEqual(["dev-007"]);
    // "_" is a literal, not LIKE's any-character.
    expect((await expectJson<Page>(await api.call("GET", "/api/v1/fleet/devices?q=dev_0"))).total).toBe(0);
    const combined = await expectJson<Page>(
      await api.call("GET", "/api/v1/fleet/devices?selector=site%3Da&online=true&module=iris&version=1.0.0"),
    );
    expect(combined.devices.map((d) => d.id)).toEqual([
      "dev-000",
      "dev-002",
      "dev-004",
      "dev-006",
      "dev-008",
    ]);
    const profiled = await expectJson<Page>(
      await api.call("GET", "/api/v1/fleet/devices?profile=raspberry-pi-5"),
    );
    expect(profiled.total).toBe(10);
    expect(profiled.devices.every((d) => !d.profileCheck.ok)).toBe(true);
    expect((await expectJson<Page>(await api.call("GET", "/api/v1/fleet/devices?profile=none"))).total).toBe(
      20,
    );
  });

  it("sums the fleet: online, profiles, module versions and failing profile checks", async () => {
    const summary = await expectJson<{
      total: number;
      online: number;
      offline: number;
      byModule: { module: string; version: string; state: string; devices: number }[];
      byProfile: { profile: string | null; devices: number }[];
      profileCheck: { failing: number; problems: { profile: string; problems: string[] }[] };
    }>(await api.call("GET", "/api/v1/fleet/summary", { as: "viewer" }));
    expect(summary).toMatchObject({ total: 30, online: 15, offline: 15 });
    expect(summary.byModule).toEqual([
      { module: "iris", version: "1.0.0", state: "active", devices: 10 },
      { module: "iris", version: "2.0.0", state: "active", devices: 20 },
    ]);
    expect(summary.byProfile).toContainEqual(
      expect.objectContaining({ profile: "raspberry-pi-5", devices: 10 }),
    );
    expect(summary.profileCheck.failing).toBe(10);
    expect(summary.profileCheck.problems[0]!.problems.join(" ")).toMatch(/arch/);
  });

  it("streams a ready event, then coalesced changes", async () => {
    const response = await api.call("GET", "/api/v1/stream", { as: "viewer" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const until = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${pattern}: ${text}`);
        text += value;
      }
    };
    await until(/event: ready/);
    api.live.publish("devices", "dev-001");
    api.live.publish("devices", "dev-002");
    api.live.publish("runs", "r1");
    await until(/event: change\ndata: .*\n\n/);
    const data = JSON.parse(/event: change\ndata: (.*)\n/.exec(text)![1]!);
    expect(data).toEqual({ devices: ["dev-001", "dev-002"], runs: ["r1"] });
    await reader.cancel();
  });

  it("serves the console page with a strict content security policy, outside the API's auth", async () => {
    const response = await api.call("GET", "/", { as: null });
    // 503 only when dist/console has not been built; the build runs before the test suite.
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/text\/html/);
    expect(response.headers.get("content-security-policy")).toMatch(/default-src 'self'/);
    const html = await response.text();
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html);
    expect(script, "asset URLs are relative, so a path prefix works").not.toBeNull();
    const asset = await api.call("GET", `/${script![1]}`, { as: null });
    expect(asset.status).toBe(200);
    expect(asset.headers.get("cache-control")).toMatch(/immutable/);
  });
});

describe("bad input", () => {
  it("refuses out-of-range pages, bad cursors and bad selectors with 400, never a whole table", async () => {
    await expectApiError(await api.call("GET", "/api/v1/fleet/devices?limit=0"), 400, "bad_request");
    await expectApiError(await api.call("GET", "/api/v1/fleet/devices?limit=100000"), 400, "bad_request");
    await expectApiError(await api.call("GET", "/api/v1/fleet/devices?after=..%2Fx"), 400, "bad_request");
    await expectApiError(await api.call("GET", "/api/v1/fleet/devices?online=maybe"), 400, "bad_request");
    await expectApiError(await api.call("GET", "/api/v1/fleet/devices?selector=nokey"), 400, "bad_request");
    const missing = await api.call("GET", "/assets/..%2F..%2Fpackage.json", { as: null });
    expect(missing.status).toBe(404);
  });
});

describe("security", () => {
  it("needs a token for the fleet routes and the stream", async () => {
    await expectApiError(await api.call("GET", "/api/v1/fleet/summary", { as: null }), 401, "unauthorized");
    await expectApiError(await api.call("GET", "/api/v1/fleet/devices", { as: null }), 401, "unauthorized");
    await expectApiError(await api.call("GET", "/api/v1/stream", { as: null }), 401, "unauthorized");
  });
});

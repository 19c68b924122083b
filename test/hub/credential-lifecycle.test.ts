/**
 * Credential lifecycle against a real hub (HTTP and the embedded broker on sockets): disabling,
 * rotating and deleting a device take effect at once (its live MQTT session is closed, its
 * downloads refused, and it cannot reconnect); tokens carry a role and an expiry and can be
 * revoked; wrong secrets are throttled per source and per device with back-off, over HTTP and MQTT
 * (issue 12, defect 9).
 */
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deviceTopic } from "../../wire/topics.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { closed, connectClient, endAll } from "../support/mqtt-clients.js";
import { waitFor } from "../support/wait.js";

let hub: TestHub;
const clients: MqttClient[] = [];

beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await endAll(clients);
  await hub?.dispose();
});

async function provision(id: string): Promise<string> {
  const { secret } = await hub.client.post<{ secret: string }>("/api/v1/devices", { id });
  return secret;
}

/** A device's own HTTP call (what a module download authenticates with). */
function deviceGet(id: string, secret: string, path = "/api/v1/signing-key"): Promise<Response> {
  return fetch(`${hub.url}${path}`, {
    headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}` },
  });
}

async function connectDevice(id: string, secret: string): Promise<MqttClient> {
  const client = await connectClient(hub.mqttUrl, { clientId: id, username: id, password: secret });
  clients.push(client);
  return client;
}

function refusal(id: string, secret: string): Promise<string> {
  return connectDevice(id, secret).then(
    () => "connected",
    (error: Error & { code?: number }) => `refused ${error.code ?? error.message}`,
  );
}

describe("device credentials", () => {
  it("disable cuts the live session off within a second and refuses MQTT and HTTP until enabled", async () => {
    const secret = await provision("lc-disable");
    const client = await connectDevice("lc-disable", secret);
    await client.publishAsync(deviceTopic("lc-disable", "status"), JSON.stringify({ online: true }), {
      qos: 1,
    });
    const gone = closed(client);
    const started = Date.now();
    const answer = await hub.client.post<{ disconnected: boolean; device: { disabledAt: string } }>(
      "/api/v1/devices/lc-disable/disable",
      {},
    );
    expect(answer.disconnected).toBe(true);
    expect(answer.device.disabledAt).toEqual(expect.any(String));
    await gone;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await refusal("lc-disable", secret)).toMatch(/refused/);
    expect((await deviceGet("lc-disable", secret)).status).toBe(401);

    await hub.client.post("/api/v1/devices/lc-disable/enable", {});
    expect((await deviceGet("lc-disable", secret)).status).toBe(200);
    expect(await refusal("lc-disable", secret)).toBe("connected");
  });

  it("rotating the secret closes the session; the old secret is refused and the new one works", async () => {
    const old = await provision("lc-rotate");
    const client = await connectDevice("lc-rotate", old);
    const gone = closed(client);
    const { secret, disconnected } = await hub.client.post<{ secret: string; disconnected: boolean }>(
      "/api/v1/devices/lc-rotate/rotate-secret",
      {},
    );
    expect(disconnected).toBe(true);
    await gone;
    expect(secret).not.toBe(old);
    expect((await deviceGet("lc-rotate", old)).status).toBe(401);
    expect(await refusal("lc-rotate", old)).toMatch(/refused/);
    expect((await deviceGet("lc-rotate", secret)).status).toBe(200);
    expect(await refusal("lc-rotate", secret)).toBe("connected");
  });

  it("deleting a device closes its session and its secret stops working", async () => {
    const secret = await provision("lc-delete");
    const client = await connectDevice("lc-delete", secret);
    const gone = closed(client);
    expect(await hub.client.request("DELETE", "/api/v1/devices/lc-delete")).toMatchObject({ deleted: true });
    await gone;
    expect((await deviceGet("lc-delete", secret)).status).toBe(401);
    expect(await refusal("lc-delete", secret)).toMatch(/refused/);
    expect(
      (
        await fetch(`${hub.url}/api/v1/devices/lc-delete`, {
          headers: { authorization: `Bearer ${hub.adminToken}` },
        })
      ).status,
    ).toBe(404);
  });

  it("lets only operators change credentials", async () => {
    await provision("lc-roles");
    const { token } = await hub.client.post<{ token: string }>("/api/v1/tokens", {
      name: "v",
      role: "viewer",
    });
    const response = await fetch(`${hub.url}/api/v1/devices/lc-roles/disable`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(403);
    expect(
      (await hub.client.get<{ disabledAt: string | null }>("/api/v1/devices/lc-roles")).disabledAt,
    ).toBeNull();
  });
});

describe("API tokens", () => {
  it("carry a role and an expiry, are listed with their state, and stop working when revoked or expired", async () => {
    const short = await hub.client.post<{ id: string; token: string; expiresAt: string }>("/api/v1/tokens", {
      name: "short",
      role: "viewer",
      expiresInSeconds: 1,
    });
    expect(short.expiresAt).toEqual(expect.any(String));
    const asToken = (token: string) =>
      fetch(`${hub.url}/api/v1/devices`, { headers: { authorization: `Bearer ${token}` } });
    expect((await asToken(short.token)).status).toBe(200);
    await waitFor(
      "the short token to expire",
      async () => (await asToken(short.token)).status === 401,
      10_000,
    );

    const revocable = await hub.client.post<{ id: string; token: string }>("/api/v1/tokens", {
      name: "revocable",
      role: "operator",
    });
    expect((await asToken(revocable.token)).status).toBe(200);
    await hub.client.request("DELETE", `/api/v1/tokens/${revocable.id}`);
    expect((await asToken(revocable.token)).status).toBe(401);

    const { tokens } = await hub.client.get<{ tokens: { id: string; state: string; role: string }[] }>(
      "/api/v1/tokens",
    );
    const byId = new Map(tokens.map((t) => [t.id, t]));
    expect(byId.get(short.id)).toMatchObject({ state: "expired", role: "viewer" });
    expect(byId.get(revocable.id)).toMatchObject({ state: "revoked", role: "operator" });
    expect(JSON.stringify(tokens)).not.toContain(revocable.token);
  });

  it("refuses an expiry in the past and two expiries at once, creating nothing", async () => {
    const before = (await hub.client.get<{ tokens: unknown[] }>("/api/v1/tokens")).tokens.length;
    for (const body of [
      { name: "past", role: "viewer", expiresAt: "2000-01-01T00:00:00Z" },
      { name: "both", role: "viewer", expiresAt: "2100-01-01T00:00:00Z", expiresInSeconds: 60 },
      { name: "zero", role: "viewer", expiresInSeconds: 0 },
    ]) {
      const response = await fetch(`${hub.url}/api/v1/tokens`, {
        method: "POST",
        headers: { authorization: `Bearer ${hub.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(400);
    }
    expect((await hub.client.get<{ tokens: unknown[] }>("/api/v1/tokens")).tokens.length).toBe(before);
  });
});

describe("failed-auth throttle", () => {
  it("blocks a device id after a few wrong secrets over HTTP, with Retry-After, while its cached device still gets in", async () => {
    const secret = await provision("lc-flood");
    // Verified once: the hub remembers it, so a flood against the id cannot lock the device out.
    expect((await deviceGet("lc-flood", secret)).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await deviceGet("lc-flood", `wrong-${i}`)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(6)).toEqual([429, 429]);
    const blocked = await deviceGet("lc-flood", "wrong-again");
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await blocked.json()).toMatchObject({ error: { code: "too_many_requests" } });
    expect((await deviceGet("lc-flood", secret)).status).toBe(200);
  });

  it("blocks MQTT connects from an address after many wrong secrets, but not a device it verified moments ago", async () => {
    const secret = await provision("lc-mqtt-flood");
    // Wrong secrets for many ids, so only the address's count can block (each id fails once).
    const outcomes: string[] = [];
    for (let i = 0; i < 30 && !outcomes.includes("refused 3"); i++) {
      outcomes.push(await refusal(`lc-guess-${i}`, "wrong"));
    }
    expect(outcomes.slice(0, -1).every((o) => o === "refused 4")).toBe(true);
    expect(outcomes.at(-1)).toBe("refused 3");
    // Blocked: even a wrong secret for yet another id is refused before it is checked.
    expect(await refusal("lc-guess-next", "wrong")).toBe("refused 3");
    // Provisioning verified this secret moments ago: the guesses above do not lock it out.
    expect(await refusal("lc-mqtt-flood", secret)).toBe("connected");
    // And a valid operator token from the same address still works.
    expect((await hub.client.get<{ devices: unknown[] }>("/api/v1/devices")).devices.length).toBeGreaterThan(
      0,
    );
  });
});

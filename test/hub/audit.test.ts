/**
 * The audit trail: state-changing calls and refused authentications are recorded with who, role,
 * action, target, outcome and source; reads are not; only admins read it. Over `app.request()`
 * for the HTTP side and a real hub with its embedded broker for refused MQTT logins.
 */
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../hub/repos/index.js";
import { type ApiTestApp, createApiTestApp } from "../support/api-app.js";
import { expectApiError, expectJson } from "../support/api-expect.js";
import { startTestHub } from "../support/hub.js";
import { waitFor } from "../support/wait.js";

let api: ApiTestApp;

beforeAll(async () => {
  api = await createApiTestApp();
});
afterAll(async () => {
  await api?.close();
});

type Page = { entries: (Omit<AuditEntry, "at"> & { at: string })[]; nextBefore: number | null };

async function latest(filter: Record<string, string> = {}): Promise<Page["entries"]> {
  const query = new URLSearchParams(filter).toString();
  return (await expectJson<Page>(await api.call("GET", `/api/v1/audit${query ? `?${query}` : ""}`))).entries;
}

describe("what is recorded", () => {
  it("records a state-changing call with the actor, role, action pattern, target and outcome", async () => {
    await expectJson(await api.call("POST", "/api/v1/devices", { as: "operator", json: { id: "aud-1" } }));
    const [entry] = await latest({ actor: "test-operator" });
    expect(entry).toMatchObject({
      actorKind: "operator",
      actor: "test-operator",
      role: "operator",
      action: "POST /api/v1/devices",
      target: "/api/v1/devices",
      outcome: "ok",
      status: 200,
    });
    expect(entry!.actorId).toMatch(/[0-9a-f-]{36}/);
  });

  it("records token creation and revocation by the admin who did it", async () => {
    const created = await expectJson<{ id: string }>(
      await api.call("POST", "/api/v1/tokens", { json: { name: "ci", role: "viewer" } }),
    );
    await expectJson(await api.call("DELETE", `/api/v1/tokens/${created.id}`));
    const entries = await latest({ actor: "test-admin", limit: "2" });
    expect(entries.map((e) => [e.action, e.target, e.outcome])).toEqual([
      ["DELETE /api/v1/tokens/:id", `/api/v1/tokens/${created.id}`, "ok"],
      ["POST /api/v1/tokens", "/api/v1/tokens", "ok"],
    ]);
  });

  it("records a refused bearer token on a read without keeping the secret", async () => {
    const secret = "ef_not-a-real-token-but-secret-looking";
    await expectApiError(
      await api.app.request("/api/v1/devices", { headers: { authorization: `Bearer ${secret}` } }),
      401,
      "unauthorized",
    );
    const [entry] = await latest({ outcome: "denied", limit: "1" });
    expect(entry).toMatchObject({ actorKind: "anonymous", action: "GET /api/v1/devices", status: 401 });
    expect(entry!.details).toMatchObject({ scheme: "bearer" });
    expect(JSON.stringify(entry)).not.toContain(secret);
  });

  it("records a wrong device secret with the device id it claimed", async () => {
    const basic = Buffer.from("aud-1:wrong-secret").toString("base64");
    await expectApiError(
      await api.app.request("/api/v1/signing-key", { headers: { authorization: `Basic ${basic}` } }),
      401,
      "unauthorized",
    );
    const [entry] = await latest({ actor: "aud-1", outcome: "denied" });
    expect(entry).toMatchObject({ actorKind: "anonymous", actor: "aud-1", details: { scheme: "basic" } });
    expect(JSON.stringify(entry)).not.toContain("wrong-secret");
  });

  it("records a role refusal with the token that tried", async () => {
    await expectApiError(
      await api.call("POST", "/api/v1/devices", { as: "viewer", json: { id: "aud-2" } }),
      403,
      "forbidden",
    );
    const [entry] = await latest({ actor: "test-viewer" });
    expect(entry).toMatchObject({ role: "viewer", outcome: "denied", status: 403 });
    expect(String(entry!.details?.error)).toContain("operator");
  });

  it("records a refused write as refused, with the error", async () => {
    await expectApiError(
      await api.call("POST", "/api/v1/devices", { json: { id: "Not A Label" } }),
      400,
      "bad_request",
    );
    const [entry] = await latest({ actor: "test-admin", limit: "1" });
    expect(entry).toMatchObject({ action: "POST /api/v1/devices", outcome: "refused", status: 400 });
  });

  it("keeps a claimed identity that cannot be stored as text, made storable", async () => {
    const basic = Buffer.from("evil\u0000id:x").toString("base64");
    await expectApiError(
      await api.app.request("/api/v1/devices", {
        method: "POST",
        headers: { authorization: `Basic ${basic}` },
      }),
      401,
      "unauthorized",
    );
    const [entry] = await latest({ outcome: "denied", limit: "1" });
    expect(entry!.actor).toBe("evil\uFFFDid");
  });

  it("does not record successful reads", async () => {
    const before = (await latest({ limit: "1" }))[0]!.id;
    await expectJson(await api.call("GET", "/api/v1/devices", { as: "viewer" }));
    // The audit read itself is a read too.
    expect((await latest({ limit: "1" }))[0]!.id).toBe(before);
  });
});

describe("who may read it", () => {
  it("refuses operators and viewers", async () => {
    await expectApiError(await api.call("GET", "/api/v1/audit", { as: "operator" }), 403, "forbidden");
    await expectApiError(await api.call("GET", "/api/v1/audit", { as: "viewer" }), 403, "forbidden");
  });

  it("filters by time and pages newest first", async () => {
    const future = new Date(Date.now() + 60_000).toISOString();
    expect(await latest({ since: future })).toEqual([]);
    const first = await expectJson<Page>(await api.call("GET", "/api/v1/audit?limit=2"));
    expect(first.entries).toHaveLength(2);
    expect(first.nextBefore).toBe(first.entries[1]!.id);
    const second = await expectJson<Page>(
      await api.call("GET", `/api/v1/audit?limit=2&before=${first.nextBefore}`),
    );
    expect(second.entries[0]!.id).toBeLessThan(first.entries[1]!.id);
  });

  it("refuses a malformed filter with a 400", async () => {
    await expectApiError(await api.call("GET", "/api/v1/audit?since=yesterday"), 400, "bad_request");
    await expectApiError(await api.call("GET", "/api/v1/audit?outcome=maybe"), 400, "bad_request");
  });
});

describe("refused MQTT logins", () => {
  it("records a wrong device secret at the embedded broker with the claimed username and source", async () => {
    const hub = await startTestHub();
    try {
      const client = mqtt.connect(hub.mqttUrl, {
        clientId: "intruder",
        username: "no-such-device",
        password: "guess",
        reconnectPeriod: 0,
      });
      await new Promise<void>((resolve) => {
        client.once("error", () => resolve());
        client.once("close", () => resolve());
      });
      client.end(true);
      const entries: AuditEntry[] = await waitFor("the refused connect in the audit trail", async () => {
        const found = await hub.parts.repos.audit.list({ action: "mqtt.connect" });
        return found.length > 0 ? found : undefined;
      });
      expect(entries[0]).toMatchObject({
        actor: "no-such-device",
        target: "intruder",
        outcome: "denied",
        source: expect.stringContaining("127.0.0.1"),
      });
    } finally {
      await hub.dispose();
    }
  });
});

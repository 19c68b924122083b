/**
 * A keyed POST whose answer is lost on the way back (a proxy cuts the connection once the hub has
 * answered) is sent again by the client with the same key, and the hub replays its answer: one
 * device, and the caller gets its credentials. The CLI's hub client keys its creating POSTs.
 * Real hub on sockets, real HubClient; the proxy only forwards bytes and cuts one connection.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveHubClient } from "../../cli/hub-target.js";
import { HubClient } from "../../hub-api/client.js";
import { startTestHub, type TestHub } from "../support/hub.js";

let hub: TestHub;

beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(() => hub?.dispose());

/** A TCP proxy to the hub that drops the answer of the first connection and closes it. */
async function answerLosingProxy(
  target: URL,
): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const first = ++connections === 1;
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.on("data", (chunk) => {
      if (first) {
        // The hub has answered (it stores a keyed answer before sending it): lose it.
        client.destroy();
        upstream.destroy();
      } else client.write(chunk);
    });
    upstream.on("end", () => client.end());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("a keyed POST whose answer is lost", () => {
  it("is sent again with the same key and provisions the device once", async () => {
    const proxy = await answerLosingProxy(new URL(hub.url));
    try {
      const client = new HubClient({
        url: proxy.url,
        token: hub.adminToken,
        idempotency: { prefix: "test-prefix", firstDelayMs: 10 },
      });
      const created = await client.post<{ device: { id: string }; secret: string }>("/api/v1/devices", {
        id: "lost-1",
        tags: {},
      });
      expect(created.device.id).toBe("lost-1");
      expect(proxy.connections()).toBeGreaterThanOrEqual(2);
      const devices = await hub.client.get<{ devices: { id: string }[] }>("/api/v1/devices");
      expect(devices.devices.filter((d) => d.id === "lost-1")).toHaveLength(1);
      // The replayed secret is the device's real one: it authenticates.
      const own = await fetch(`${hub.url}/api/v1/signing-key`, {
        headers: { authorization: `Basic ${Buffer.from(`lost-1:${created.secret}`).toString("base64")}` },
      });
      expect(own.status).toBe(200);
    } finally {
      await proxy.close();
    }
  });

  it("without a key the client does not send it again (a retry could create twice)", async () => {
    const proxy = await answerLosingProxy(new URL(hub.url));
    try {
      const client = new HubClient({ url: proxy.url, token: hub.adminToken });
      await expect(client.post("/api/v1/devices", { id: "lost-2", tags: {} })).rejects.toMatchObject({
        status: 0,
      });
      expect(proxy.connections()).toBe(1);
    } finally {
      await proxy.close();
    }
  });
});

describe("the CLI's hub client", () => {
  it("sends a random Idempotency-Key per invocation on its creating POSTs", async () => {
    const keysBefore = (await hub.parts.database.db.query.idempotencyKeys.findMany()).length;
    const first = await resolveHubClient({ hub: hub.url, token: hub.adminToken }, {});
    const second = await resolveHubClient({ hub: hub.url, token: hub.adminToken }, {});
    expect(first.options.idempotency?.prefix).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.options.idempotency?.prefix).not.toBe(first.options.idempotency?.prefix);
    await first.post("/api/v1/devices", { id: "cli-1", tags: {} });
    await first.post("/api/v1/devices", { id: "cli-2", tags: {} });
    const stored = await hub.parts.database.db.query.idempotencyKeys.findMany();
    // Two keyed requests, two keys (the nth request of an invocation has its own).
    expect(stored.length - keysBefore).toBe(2);
    expect(stored.every((row) => row.state === "done" && row.path === "/api/v1/devices")).toBe(true);
  });
});

/** The HTTP socket bound before the app exists: 503 until served, then the app; a taken port is a clear error. */
import { afterEach, describe, expect, it } from "vitest";
import { type BoundHttpServer, bindHttpServer } from "./server.js";

const opened: BoundHttpServer[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((server) => server.close()));
});

describe("bindHttpServer", () => {
  it("answers 503 unavailable with Retry-After until the app is served, then the app", async () => {
    const server = await bindHttpServer("127.0.0.1", 0);
    opened.push(server);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const early = await fetch(`${server.url}/api/v1/health`);
    expect(early.status).toBe(503);
    expect(early.headers.get("retry-after")).toBe("1");
    expect(await early.json()).toEqual({ error: { code: "unavailable", message: "the hub is starting" } });

    server.serve(() => new Response("served"));
    const late = await fetch(`${server.url}/api/v1/health`);
    expect(late.status).toBe(200);
    expect(await late.text()).toBe("served");
    expect(() => server.serve(() => new Response("again"))).toThrow(/already serves/);
  });

  it("refuses a port in use with a message naming the flag", async () => {
    const first = await bindHttpServer("127.0.0.1", 0);
    opened.push(first);
    const port = Number(new URL(first.url).port);
    await expect(bindHttpServer("127.0.0.1", port)).rejects.toMatchObject({
      code: "EADDRINUSE",
      message: expect.stringContaining("--port or EDGEFLEET_PORT"),
    });
  });

  it("closes once however often it is asked", async () => {
    const server = await bindHttpServer("127.0.0.1", 0);
    await Promise.all([server.close(), server.close()]);
    await expect(fetch(server.url)).rejects.toThrow();
  });
});

import { connect } from "mqtt";
import { describe, expect, it } from "vitest";
import { applyReconnectBackoff, nextReconnectDelay } from "./reconnect-backoff.js";

describe("reconnect back-off", () => {
  it("doubles up to the cap", () => {
    const backoff = { initialMs: 100, maxMs: 1_000 };
    expect(nextReconnectDelay(100, backoff)).toBe(200);
    expect(nextReconnectDelay(800, backoff)).toBe(1_000);
    expect(nextReconnectDelay(1_000, backoff)).toBe(1_000);
  });

  it("grows the delay of a real mqtt.js client on each failed attempt", async () => {
    // Port 1 refuses connections, so every attempt fails.
    const client = connect("mqtt://127.0.0.1:1", { protocolVersion: 4, reconnectPeriod: 5 });
    client.on("error", () => {});
    const delays: number[] = [];
    applyReconnectBackoff(client, { initialMs: 5, maxMs: 20 }, (delayMs) => delays.push(delayMs));
    await new Promise<void>((resolve) => {
      client.on("reconnect", () => {
        if (delays.length >= 4) resolve();
      });
    });
    await client.endAsync(true);
    expect(delays.slice(0, 4)).toEqual([5, 10, 20, 20]);
  });

  it("refuses a nonsensical back-off", () => {
    const client = connect("mqtt://127.0.0.1:1", { protocolVersion: 4, manualConnect: true });
    expect(() => applyReconnectBackoff(client, { initialMs: 0, maxMs: 10 })).toThrow(/back-off/);
    expect(() => applyReconnectBackoff(client, { initialMs: 50, maxMs: 10 })).toThrow(/back-off/);
  });
});

/**
 * Body limits hold while the body streams in: a chunked upload far past the limit is refused with
 * 413 once it passes the limit, and the hub's memory grows with the limit, not with what the
 * client sends; a JSON route refuses an oversized body with or without Content-Length and
 * creates nothing. A real hub on a real socket.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../support/hub.js";

const LIMIT = 1024 * 1024;
let hub: TestHub;

beforeAll(async () => {
  hub = await startTestHub({ maxDatasetBytes: LIMIT, maxModelBytes: LIMIT, maxJsonBytes: 64 * 1024 });
});
afterAll(async () => {
  await hub?.dispose();
});

/** Streams `total` bytes chunked (no Content-Length) and resolves with the status and body the hub sent. */
function streamUpload(
  path: string,
  total: number,
  contentType: string,
): Promise<{ status: number; body: string; sent: number }> {
  const url = new URL(path, hub.url);
  const chunk = Buffer.alloc(256 * 1024, 0x41);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered: { status: number; body: string } | undefined;
    const req = request(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${hub.adminToken}`,
        "content-type": contentType,
        "transfer-encoding": "chunked",
      },
    });
    req.on("response", (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (text: string) => (body += text));
      response.on("end", () => {
        answered = { status: response.statusCode ?? 0, body };
        req.destroy();
        resolve({ ...answered, sent });
      });
    });
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    const pump = () => {
      while (sent < total && !answered && !req.destroyed) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      if (sent >= total && !req.destroyed) req.end();
    };
    pump();
  });
}

describe("streamed body limits", () => {
  it("refuses a 400 MB chunked dataset upload against a 1 MiB limit with memory bounded by the limit", async () => {
    global.gc?.();
    const before = process.memoryUsage().rss;
    const answer = await streamUpload("/api/v1/datasets/big/versions", 400 * 1024 * 1024, "text/csv");
    const growth = process.memoryUsage().rss - before;
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.code).toBe("payload_too_large");
    // The hub stopped reading long before the client's 400 MB were sent...
    expect(answer.sent).toBeLessThan(200 * 1024 * 1024);
    // ...and held no more than a small multiple of the limit (the whole body would be 400 MB).
    expect(growth).toBeLessThan(64 * 1024 * 1024);
    expect(await hub.parts.repos.datasets.list()).toEqual([]);
  });

  it("refuses an oversized chunked JSON body to POST /devices and provisions nothing", async () => {
    const answer = await streamUpload("/api/v1/devices", 8 * 1024 * 1024, "application/json");
    expect(answer.status).toBe(413);
    expect(await hub.parts.repos.devices.list()).toEqual([]);
  });

  it("refuses an oversized JSON body by its Content-Length before reading it", async () => {
    const body = JSON.stringify({ id: "big", name: "x".repeat(100 * 1024) });
    const response = await fetch(`${hub.url}/api/v1/devices`, {
      method: "POST",
      headers: { authorization: `Bearer ${hub.adminToken}`, "content-type": "application/json" },
      body,
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
    expect(await hub.parts.repos.devices.get("big")).toBeNull();
  });
});

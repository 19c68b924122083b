/**
 * Least privilege for training (issue 12, defect 1), against a real hub over HTTP: a `trainer`
 * token speaks the worker protocol and nothing else; each claim carries an attempt token that may
 * write only its own attempt's logs, metrics and model and read only its own run's inputs, and
 * that stops working the moment the attempt ends.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { separableBinary } from "../../training/synthetic.js";
import { startTestHub, type TestHub } from "../support/hub.js";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are probed field by field.
type Json = Record<string, any>;

let hub: TestHub;
let trainerToken: string;

async function call(token: string, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  const init: RequestInit = { method, headers };
  if (body instanceof Uint8Array) {
    init.body = body;
    headers["content-type"] = "application/octet-stream";
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers["content-type"] = "application/json";
  }
  const response = await fetch(`${hub.url}${path}`, init);
  const text = await response.text();
  let json: Json | undefined;
  try {
    json = text ? (JSON.parse(text) as Json) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, json };
}
const admin = (method: string, path: string, body?: unknown) => call(hub.adminToken, method, path, body);

function jsonl(seed: number): Uint8Array {
  const rows = separableBinary(60, seed);
  return new TextEncoder().encode(`${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
}

async function upload(name: string, seed: number): Promise<string> {
  const { status, json } = await admin(
    "POST",
    `/api/v1/datasets/${name}/versions?format=jsonl&target=label&task=classification`,
    jsonl(seed),
  );
  expect(status, JSON.stringify(json)).toBe(201);
  return json!.version as string;
}

const WORKER = {
  id: "scoped-1",
  name: "scoped-1",
  capabilities: { cpus: 2, memoryMb: 4096, gpus: [], labels: {}, kinds: ["builtin", "script"], version: "t" },
};

async function submit(body: Json): Promise<Json> {
  const { status, json } = await admin("POST", "/api/v1/runs", {
    task: "classification",
    target: "label",
    ...body,
  });
  expect(status, JSON.stringify(json)).toBe(201);
  return json!;
}

async function claim(): Promise<Json> {
  const { status, json } = await call(trainerToken, "POST", `/api/v1/workers/${WORKER.id}/claim?waitMs=0`);
  expect(status, JSON.stringify(json)).toBe(200);
  return json!.claim as Json;
}

beforeAll(async () => {
  hub = await startTestHub();
  await upload("inputs-a", 1);
  await upload("inputs-b", 2);
  await upload("inputs-unused", 3);
  const created = await admin("POST", "/api/v1/tokens", { name: "gpu-box", role: "trainer" });
  expect(created.status, JSON.stringify(created.json)).toBe(200);
  expect(created.json!.role).toBe("trainer");
  trainerToken = created.json!.token as string;
}, 60_000);
afterAll(async () => {
  await hub?.dispose();
});

describe("the trainer role", () => {
  it("registers and claims, and is refused every operator route", async () => {
    expect((await call(trainerToken, "POST", "/api/v1/workers", WORKER)).status).toBe(200);
    for (const [method, path, body] of [
      ["GET", "/api/v1/devices"],
      ["POST", "/api/v1/devices", { id: "sneaky" }],
      ["POST", "/api/v1/deployments", { module: "m@1.0.0", selector: {} }],
      ["GET", "/api/v1/runs"],
      ["POST", "/api/v1/runs", { experiment: "x" }],
      ["POST", "/api/v1/tokens", { name: "escalate", role: "admin" }],
      ["GET", "/api/v1/datasets"],
      ["GET", "/api/v1/workers"],
    ] as const) {
      const answer = await call(trainerToken, method, path, body);
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(answer.json!.error.message).toMatch(/worker protocol/);
    }
    const devices = await admin("GET", "/api/v1/devices");
    expect(devices.json!.devices).toEqual([]);
  });
});

describe("attempt tokens", () => {
  it("write only their own attempt, read only their own inputs, and die with the attempt", async () => {
    await call(trainerToken, "POST", "/api/v1/workers", WORKER);
    const gz = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const snapshot = (await admin("POST", "/api/v1/snapshots", gz)).json!.sha256 as string;
    const runA = await submit({
      experiment: "scope-a",
      dataset: { name: "inputs-a" },
      recipe: "script",
      params: {},
      script: { snapshot, command: "true" },
    });
    const runB = await submit({ experiment: "scope-b", dataset: { name: "inputs-b" }, recipe: "logistic" });
    const a = await claim();
    const b = await claim();
    expect([a.runId, b.runId]).toEqual([runA.id, runB.id]);
    expect(a.attemptToken).toMatch(/^efa_/);
    expect(b.attemptToken).toMatch(/^efa_/);
    expect(a.attemptToken).not.toBe(b.attemptToken);
    const token = a.attemptToken as string;
    const own = `/api/v1/runs/${runA.id}/attempts/${a.attempt}`;
    const other = `/api/v1/runs/${runB.id}/attempts/${b.attempt}`;

    // Its own data stream.
    expect(
      (await call(token, "POST", `${own}/logs`, { lines: [{ stream: "stdout", text: "hi" }] })).status,
    ).toBe(204);
    expect(
      (await call(token, "POST", `${own}/metrics`, { points: [{ name: "loss", value: 1, step: 0 }] })).status,
    ).toBe(204);
    // Its own inputs.
    expect((await call(token, "GET", a.dataset.url)).status).toBe(200);
    expect((await call(token, "GET", a.snapshot.url)).status).toBe(200);

    // Nothing of another run, nothing else of its own, no operator or worker route.
    const refusals: [string, string, unknown?][] = [
      ["POST", `${other}/logs`, { lines: [{ stream: "stdout", text: "forged" }] }],
      ["POST", `${other}/metrics`, { points: [{ name: "loss", value: 9, step: 0 }] }],
      ["POST", `${other}/model`, new Uint8Array([1, 2, 3])],
      ["POST", `/api/v1/runs/${runA.id}/attempts/${a.attempt + 1}/logs`, { lines: [] }],
      ["GET", `/api/v1/runs/${runB.id}/logs`],
      ["GET", `/api/v1/runs/${runA.id}/logs`],
      ["GET", `/api/v1/runs/${runB.id}/metrics`],
      ["GET", b.dataset.url],
      ["GET", "/api/v1/datasets/inputs-unused/versions/latest/content"],
      ["GET", "/api/v1/datasets/no-such-dataset/versions/latest/content"],
      ["POST", `${own}/complete`, { onnxSha256: "ab".repeat(32), result: {} }],
      ["POST", `${own}/fail`, { error: { code: "x", message: "y" }, retryable: false }],
      ["POST", `/api/v1/workers/${WORKER.id}/heartbeat`, { runs: [] }],
      ["POST", `/api/v1/workers/${WORKER.id}/claim?waitMs=0`],
      ["GET", "/api/v1/devices"],
      ["POST", "/api/v1/runs", { experiment: "x" }],
      ["POST", "/api/v1/tokens", { name: "escalate", role: "admin" }],
    ];
    for (const [method, path, body] of refusals)
      expect((await call(token, method, path, body)).status, `${method} ${path}`).toBe(403);
    const forged = await admin("GET", `/api/v1/runs/${runB.id}/logs`);
    expect(forged.json!.lines.map((l: Json) => l.text)).not.toContain("forged");
    expect((await admin("GET", `/api/v1/runs/${runB.id}/metrics`)).json!.series).toEqual({});

    // A trainer token reads the inputs of runs being trained, and no other dataset.
    expect((await call(trainerToken, "GET", b.dataset.url)).status).toBe(200);
    expect(
      (await call(trainerToken, "GET", "/api/v1/datasets/inputs-unused/versions/latest/content")).status,
    ).toBe(403);

    // The attempt ends: its token is refused at once, even for its own attempt's routes.
    const ended = await call(trainerToken, "POST", `${own}/fail`, {
      error: { code: "script_failed", message: "done" },
      retryable: false,
    });
    expect(ended.status, JSON.stringify(ended.json)).toBe(200);
    for (const path of [`${own}/logs`, `${own}/metrics`]) {
      const after = await call(token, "POST", path, { lines: [{ stream: "stdout", text: "late" }] });
      expect(after.status, path).toBe(401);
    }
    expect((await call(token, "GET", a.dataset.url)).status).toBe(401);
    // The other run's token still works: ending one attempt leaves the others alone.
    expect((await call(b.attemptToken, "POST", `${other}/logs`, { lines: [] })).status).toBe(204);
    await call(trainerToken, "POST", `${other}/fail`, {
      error: { code: "x", message: "y" },
      retryable: false,
    });
    expect((await call(b.attemptToken, "POST", `${other}/logs`, { lines: [] })).status).toBe(401);
  });
});

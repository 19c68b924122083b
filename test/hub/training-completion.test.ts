/**
 * The hub's completion check against a real hub (PGlite, onnxruntime, the check's worker thread),
 * with this test as the trainer worker: the hub keeps answering while it checks a model on a large
 * dataset; a check that fails for the hub's own reasons (an unreadable blob, a database error
 * while registering) ends the attempt at once — requeued while attempts remain, failed after —
 * and registers nothing.
 */
import { rename } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRunDataset, type TrainResult, train } from "../../training/index.js";
import { separableBinary } from "../../training/synthetic.js";
import { refuseRunSuccess } from "../support/db-faults.js";
import { startTestHub, type TestHub } from "../support/hub.js";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are probed field by field.
type Json = Record<string, any>;

let hub: TestHub;
const WORKER = "checker";
/** Large enough that parsing and prepare() take the check a noticeable while (about 21 MB). */
const LARGE_ROWS = 200_000;

const jsonlOf = (rows: object[]) =>
  new TextEncoder().encode(`${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);

async function api(method: string, path: string, body?: unknown) {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${hub.adminToken}` } };
  const headers = init.headers as Record<string, string>;
  if (body instanceof Uint8Array) {
    init.body = body;
    headers["content-type"] = "application/octet-stream";
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers["content-type"] = "application/json";
  }
  const response = await fetch(`${hub.url}${path}`, init);
  const text = await response.text();
  return { status: response.status, json: (text ? JSON.parse(text) : undefined) as Json };
}

async function uploadDataset(name: string, bytes: Uint8Array): Promise<Json> {
  const { status, json } = await api(
    "POST",
    `/api/v1/datasets/${name}/versions?format=jsonl&target=label&task=classification`,
    bytes,
  );
  expect(status, JSON.stringify(json)).toBe(201);
  return json.dataset;
}

async function submit(dataset: string, model: string, extra: Json = {}): Promise<Json> {
  const { status, json } = await api("POST", "/api/v1/runs", {
    experiment: model,
    dataset: { name: dataset },
    task: "classification",
    target: "label",
    recipe: "logistic",
    params: { epochs: 20 },
    register: { model, aliases: ["champion"] },
    ...extra,
  });
  expect(status, JSON.stringify(json)).toBe(201);
  return json;
}

async function claim(): Promise<Json> {
  const { status, json } = await api("POST", `/api/v1/workers/${WORKER}/claim?waitMs=0`);
  expect(status).toBe(200);
  return json.claim;
}

const trained = new Map<string, TrainResult>();

/** What a worker does before `complete`: train on the claim's dataset (cached per dataset) and upload. */
async function trainAndUpload(c: Json): Promise<{ base: string; body: Json }> {
  let result = trained.get(c.spec.dataset.version);
  if (!result) {
    const response = await fetch(`${hub.url}${c.dataset.url}`, {
      headers: { authorization: `Bearer ${hub.adminToken}` },
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const dataset = await loadRunDataset({ bytes, format: c.dataset.format }, c.spec);
    result = await train({
      dataset,
      task: c.spec.task,
      target: c.spec.target,
      recipe: c.spec.recipe,
      params: c.spec.params,
      seed: c.spec.seed,
      split: c.spec.split,
    });
    trained.set(c.spec.dataset.version, result);
  }
  const base = `/api/v1/runs/${c.runId}/attempts/${c.attempt}`;
  const upload = await api("POST", `${base}/model`, result.onnx);
  expect(upload.status).toBe(201);
  const body = {
    onnxSha256: upload.json.sha256,
    result: {
      recipe: result.recipe,
      params: result.params,
      metrics: result.metrics,
      parity: result.predictionsCheck,
      baseline: result.baseline,
      features: result.features,
      classes: result.classes,
    },
  };
  return { base, body };
}

async function logTexts(runId: string): Promise<string[]> {
  return (await api("GET", `/api/v1/runs/${runId}/logs?limit=1000`)).json.lines.map((l: Json) => l.text);
}

async function versionsOf(model: string): Promise<number[]> {
  const { status, json } = await api("GET", `/api/v1/models/${model}/versions`);
  return status === 404 ? [] : json.versions.map((v: Json) => v.version);
}

let small: Json;

beforeAll(async () => {
  hub = await startTestHub({ maxDatasetBytes: 64 * 1024 * 1024 });
  const registered = await api("POST", "/api/v1/workers", {
    id: WORKER,
    name: WORKER,
    capabilities: { cpus: 4, memoryMb: 8192, gpus: [], labels: {}, kinds: ["builtin"], version: "test" },
  });
  expect(registered.status).toBe(200);
  small = await uploadDataset("small", jsonlOf(separableBinary(300, 5)));
}, 120_000);
afterAll(async () => {
  await hub?.dispose();
});

describe("the completion check in a worker thread", () => {
  it("answers other requests while it checks a model on a large dataset", async () => {
    await uploadDataset("large", jsonlOf(separableBinary(LARGE_ROWS, 11)));
    const run = await submit("large", "large-model", { params: { epochs: 2 } });
    const c = await claim();
    expect(c.runId).toBe(run.id);
    const { base, body } = await trainAndUpload(c);

    const order: string[] = [];
    const checking = new Promise<void>((resolve) => {
      const stop = hub.parts.jobs.events.subscribe(run.id, (event) => {
        if (event.type === "log" && String(event.data.text).startsWith("hub: checking the model")) {
          stop();
          resolve();
        }
      });
    });
    const completion = api("POST", `${base}/complete`, body).then((answer) => {
      order.push("complete");
      return answer;
    });
    await checking;
    const health = await fetch(`${hub.url}/api/v1/health`);
    order.push("health");
    expect(health.status).toBe(200);
    const done = await completion;

    expect(order).toEqual(["health", "complete"]);
    expect(done.json, JSON.stringify(done.json.error)).toMatchObject({
      status: "succeeded",
      outputs: { model: { name: "large-model", version: 1 } },
    });
    // Same metrics as the worker measured: the thread computes what the hub always computed.
    for (const [name, value] of Object.entries(body.result.metrics.test as Record<string, number>)) {
      if (typeof value === "number") expect(done.json.metrics.test[name]).toBeCloseTo(value, 3);
    }
    const testRows = Math.round(LARGE_ROWS * 0.15);
    const checked = (await logTexts(run.id)).find((t) => t.startsWith("hub: model checked"));
    expect(checked).toMatch(/^hub: model checked on \d+ test rows \(in a worker thread\)$/);
    expect(Number(checked!.match(/on (\d+) test rows/)![1])).toBeGreaterThan(testRows * 0.9);
  });
});

describe("a check that fails for the hub's own reasons", () => {
  it("requeues the attempt at once with the error, registers nothing, and the next attempt succeeds", async () => {
    const run = await submit("small", "unreadable-model");
    const first = await claim();
    const { base, body } = await trainAndUpload(first);
    const blob = hub.parts.blobs.path(small.version);
    await rename(blob, `${blob}.away`);
    let failed: Awaited<ReturnType<typeof api>>;
    try {
      failed = await api("POST", `${base}/complete`, body);
    } finally {
      await rename(`${blob}.away`, blob);
    }
    expect(failed.status).toBe(200);
    expect(failed.json).toMatchObject({ status: "queued", attempt: 1 });
    expect(failed.json.attempts).toEqual([
      expect.objectContaining({
        n: 1,
        status: "failed",
        error: expect.objectContaining({ code: "check_failed", message: expect.stringContaining("ENOENT") }),
      }),
    ]);
    expect(await versionsOf("unreadable-model")).toEqual([]);
    const failure = (await logTexts(run.id)).find((t) => t.startsWith("hub: checking or registering"));
    expect(failure).toMatch(/ENOENT.*nothing registered; run queued$/);

    const second = await claim();
    expect(second).toMatchObject({ runId: run.id, attempt: 2 });
    const retry = await trainAndUpload(second);
    const done = await api("POST", `${retry.base}/complete`, retry.body);
    expect(done.json).toMatchObject({ status: "succeeded", outputs: { model: { version: 1 } } });
    expect(done.json.attempts.map((a: Json) => [a.n, a.status])).toEqual([
      [1, "failed"],
      [2, "succeeded"],
    ]);
  });

  it("fails the run with the error once its attempts are used up", async () => {
    const run = await submit("small", "unreadable-once", { maxAttempts: 1 });
    const c = await claim();
    const { base, body } = await trainAndUpload(c);
    const blob = hub.parts.blobs.path(small.version);
    await rename(blob, `${blob}.away`);
    let failed: Awaited<ReturnType<typeof api>>;
    try {
      failed = await api("POST", `${base}/complete`, body);
    } finally {
      await rename(`${blob}.away`, blob);
    }
    expect(failed.json).toMatchObject({ id: run.id, status: "failed", error: { code: "check_failed" } });
    expect(await versionsOf("unreadable-once")).toEqual([]);
  });

  it("keeps no model version when marking the run succeeded fails, and the retry registers version 1", async () => {
    const run = await submit("small", "atomic-model");
    const first = await claim();
    const { base, body } = await trainAndUpload(first);
    const heal = await refuseRunSuccess(hub.parts.database.db, run.id);
    let failed: Awaited<ReturnType<typeof api>>;
    try {
      failed = await api("POST", `${base}/complete`, body);
    } finally {
      await heal();
    }
    expect(failed.json.status).toBe("queued");
    expect(failed.json.attempts[0]).toMatchObject({
      status: "failed",
      error: { code: "check_failed", message: expect.stringContaining("injected fault") },
    });
    expect(await versionsOf("atomic-model")).toEqual([]);
    expect((await api("GET", "/api/v1/models/atomic-model/versions/champion")).status).toBe(404);

    const second = await claim();
    const retry = await trainAndUpload(second);
    const done = await api("POST", `${retry.base}/complete`, retry.body);
    expect(done.json).toMatchObject({ status: "succeeded", outputs: { model: { version: 1 } } });
    const champion = (await api("GET", "/api/v1/models/atomic-model/versions/champion")).json;
    expect(champion).toMatchObject({ version: 1, lineage: { run: run.id, attempt: 2 } });
  });
});

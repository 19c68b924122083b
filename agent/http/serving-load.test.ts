/**
 * The scoring server under load, over real HTTP with real onnxruntime: the event loop stays free
 * while a slow model runs, overload and deadlines answer in each protocol's shape, a crashed worker
 * fails its requests with a message, and /metrics reports it all.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InferenceRuntime } from "../runtime/inference-runtime.js";
import { classifierModule, slowModule } from "../runtime/test-modules.js";
import { call, type Harness, startHarness } from "./test-harness.js";

const runtime = new InferenceRuntime();
let harness: Harness;
let base: string;

beforeAll(async () => {
  harness = await startHarness(
    [
      await slowModule({ name: "slow", depth: 2000, runtime: { executor: "worker" } }),
      await slowModule({
        name: "narrow",
        depth: 2000,
        runtime: { executor: "worker", maxBatch: 1, maxQueue: 1 },
      }),
      await slowModule({
        name: "hasty",
        depth: 2000,
        runtime: { executor: "worker", maxBatch: 1, timeoutMs: 5 },
      }),
      await classifierModule(),
    ],
    { runtime },
  );
  base = harness.server.url;
});
afterAll(async () => {
  await harness.close();
  await runtime.close();
});

const rows = (n: number) =>
  Array.from({ length: n }, (_, i) => Array.from({ length: 256 }, (_, j) => ((i + j) % 5) / 10));
const scoreBody = (n: number) => ({ inputs: { x: rows(n) } });
const inferBody = (n: number) => ({
  inputs: [{ name: "x", shape: [n, 256], datatype: "FP32", data: rows(n).flat() }],
});
const post = (path: string, body: unknown) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("off-thread inference", () => {
  it("answers health checks while a long inference runs", async () => {
    expect(harness.table.get("slow")!.executorKind).toBe("worker");
    let done = false;
    const long = post("/v1/modules/slow/score", scoreBody(96)).finally(() => {
      done = true;
    });
    let answered = 0;
    while (!done) {
      const live = await call(`${base}/v2/health/live`);
      if (live.status === 200 && !done) answered++;
    }
    expect((await long).status).toBe(200);
    // Inline, the loop would be blocked for the whole run and answer at most one probe.
    expect(answered).toBeGreaterThan(5);
  });
});

describe("overload and deadlines", () => {
  it("answers 429 with Retry-After on the friendly route when the queue is full", async () => {
    const replies = await Promise.all(
      Array.from({ length: 6 }, () => post("/v1/modules/narrow/score", scoreBody(16))),
    );
    const refused = replies.filter((reply) => reply.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(replies.every((reply) => reply.status === 200 || reply.status === 429)).toBe(true);
    // One runs and one waits: nothing else is held in memory.
    expect(replies.filter((reply) => reply.status === 200).length).toBeLessThanOrEqual(2);
    expect(Number(refused[0]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await refused[0]!.json()).toEqual({
      error: { code: "overloaded", message: expect.stringMatching(/overloaded.*retry after/) },
    });
    expect(harness.table.get("narrow")!.queueDepth).toBe(0);
  });

  it("answers 503 with Retry-After on the OIP route when the queue is full", async () => {
    const replies = await Promise.all(
      Array.from({ length: 6 }, () => post("/v2/models/narrow/infer", inferBody(16))),
    );
    const refused = replies.filter((reply) => reply.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    expect(replies.every((reply) => reply.status === 200 || reply.status === 503)).toBe(true);
    expect(Number(refused[0]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await refused[0]!.json()).toEqual({ error: expect.stringMatching(/overloaded/) });
  });

  it("answers 504 in each protocol's error shape when the deadline passes", async () => {
    const friendly = await call(`${base}/v1/modules/hasty/score`, "POST", scoreBody(32));
    expect(friendly.status).toBe(504);
    expect(friendly.body).toEqual({
      error: { code: "timeout", message: expect.stringMatching(/within 5 ms/) },
    });
    const oip = await call(`${base}/v2/models/hasty/infer`, "POST", inferBody(32));
    expect(oip.status).toBe(504);
    expect(oip.body).toEqual({ error: expect.stringMatching(/within 5 ms/) });
  });
});

describe("worker crash", () => {
  it("fails the requests in flight with a 500 that says so, then serves again", async () => {
    const long = call(`${base}/v1/modules/slow/score`, "POST", scoreBody(64));
    // Once the long run is in the worker, the crash and then another request queue behind it.
    while (runtime.pool.pendingRequests === 0) await new Promise((resolve) => setImmediate(resolve));
    runtime.pool.crashWorker();
    const inFlight = await call(`${base}/v2/models/narrow/infer`, "POST", inferBody(1));
    expect(inFlight.status).toBe(500);
    expect(inFlight.body).toEqual({ error: expect.stringMatching(/inference worker crashed/) });
    // The long run was either answered before the crash or failed the same way; it never hangs.
    const first = await long;
    if (first.status !== 200) {
      expect(first.status).toBe(500);
      expect(first.body).toEqual({
        error: { code: "internal", message: expect.stringMatching(/inference worker crashed/) },
      });
    }
    const again = await call(`${base}/v2/models/slow/infer`, "POST", inferBody(1));
    expect(again.status).toBe(200);
    expect(runtime.pool.restarts.crash).toBe(1);
  });
});

describe("GET /metrics", () => {
  it("exposes requests, errors, latency, batches, queue depth, modules, workers and process metrics", async () => {
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/text\/plain/);
    const text = await response.text();
    expect(text).toMatch(
      /edgefleet_agent_requests_total\{module="slow",version="1.0.0",route="score",status="200"\} \d+/,
    );
    expect(text).toMatch(
      /edgefleet_agent_request_errors_total\{module="narrow",version="1.0.0",route="score",status="429"\} [1-9]/,
    );
    expect(text).toMatch(
      /edgefleet_agent_request_errors_total\{module="hasty",version="1.0.0",route="infer",status="504"\} 1/,
    );
    expect(text).toMatch(
      /edgefleet_agent_request_duration_seconds_bucket\{le="0.5",module="slow",version="1.0.0",route="score"\}/,
    );
    expect(text).toMatch(/edgefleet_agent_batch_size_count\{module="slow",version="1.0.0"\} [1-9]/);
    expect(text).toMatch(
      /edgefleet_agent_inference_run_duration_seconds_count\{module="slow",version="1.0.0",executor="worker"\}/,
    );
    expect(text).toMatch(/edgefleet_agent_queue_depth\{module="narrow",version="1.0.0"\} 0/);
    expect(text).toMatch(/edgefleet_agent_active_modules 4/);
    expect(text).toMatch(
      /edgefleet_agent_module_info\{module="slow",version="1.0.0",executor="worker",max_batch="8"\} 1/,
    );
    expect(text).toMatch(/edgefleet_agent_inference_worker_restarts_total\{reason="crash"\} 1/);
    expect(text).toMatch(/edgefleet_agent_inference_workers 1/);
    expect(text).toMatch(/edgefleet_agent_process_resident_memory_bytes \d+/);
    expect(text).toMatch(/edgefleet_agent_nodejs_eventloop_lag_seconds/);
  });

  it("labels requests for unknown modules without their name", async () => {
    await call(`${base}/v1/modules/no-such-module/score`, "POST", { features: {} });
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).not.toMatch(/no-such-module/);
    expect(text).toMatch(
      /edgefleet_agent_request_errors_total\{module="",version="",route="score",status="404"\} 1/,
    );
  });
});

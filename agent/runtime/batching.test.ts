import { Tensor } from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "../../test/support/wait.js";
import { type BatchEvent, InferenceRuntime } from "./inference-runtime.js";
import { loadModule } from "./loaded-module.js";
import { InferenceTimeoutError, OverloadedError } from "./runtime-errors.js";
import { classifierModule, type ModuleDir, slowModule } from "./test-modules.js";

const runtime = new InferenceRuntime({ inlineMaxMs: 20 });
const dirs: ModuleDir[] = [];
afterAll(async () => {
  await runtime.close();
  await Promise.all(dirs.map((dir) => dir.cleanup()));
});

/** Row i of a distinct input, so a row scored against another request's data shows. */
const rowOf = (i: number) => [i * 0.5, -i, (i % 7) - 3, i / 10];

describe("micro-batching", () => {
  it.each(["inline", "worker"] as const)(
    "%s: concurrent requests share runs and each gets exactly its own rows back",
    async (executor) => {
      const dir = await classifierModule();
      dirs.push(dir);
      const manifest = { ...dir.manifest, runtime: { ...dir.manifest.runtime, executor, maxQueue: 64 } };
      const batched = await loadModule({ dir: dir.dir, manifest, runtime });
      const single = await loadModule({
        dir: dir.dir,
        manifest: { ...manifest, runtime: { ...manifest.runtime, maxBatch: 1 } },
        runtime,
      });
      expect(batched.executorKind).toBe(executor);
      expect(batched.maxBatch).toBe(8);
      expect(single.maxBatch).toBe(1);
      const batches: BatchEvent[] = [];
      const off = runtime.on((event) => {
        if (event.kind === "batch" && event.module === "classifier") batches.push(event);
      });
      // Requests of 1 to 3 rows, all submitted in one tick.
      const requests = Array.from({ length: 40 }, (_, r) =>
        Array.from({ length: (r % 3) + 1 }, (_, k) => rowOf(r * 3 + k)),
      );
      const feeds = (rows: number[][]) => ({
        features: new Tensor("float32", Float32Array.from(rows.flat()), [rows.length, 4]),
      });
      const together = await Promise.all(requests.map((rows) => batched.run(feeds(rows))));
      off();
      expect(batches.some((batch) => batch.requests > 1)).toBe(true);
      expect(batches.every((batch) => batch.rows <= 8 || batch.requests === 1)).toBe(true);
      for (const [r, rows] of requests.entries()) {
        const alone = await single.run(feeds(rows));
        expect(together[r]!.logits!.dims).toEqual([rows.length, 3]);
        const ours = Array.from(together[r]!.logits!.data as Float32Array);
        const reference = Array.from(alone.logits!.data as Float32Array);
        ours.forEach((value, i) => {
          expect(value).toBeCloseTo(reference[i]!, 5);
        });
        const js = dir.model.predict(rows).flat();
        ours.forEach((value, i) => {
          expect(value).toBeCloseTo(js[i]!, 4);
        });
      }
      await Promise.all([batched.drainAndDispose(), single.drainAndDispose()]);
    },
  );

  it("keeps batching off when dimension 0 is fixed", async () => {
    const dir = await classifierModule();
    dirs.push(dir);
    const manifest = {
      ...dir.manifest,
      inputs: [{ ...dir.manifest.inputs[0]!, shape: [1, 4] }],
      outputs: [{ ...dir.manifest.outputs[0]!, shape: [1, 3] }],
    };
    const module = await loadModule({ dir: dir.dir, manifest, runtime });
    expect(module.maxBatch).toBe(1);
    await module.drainAndDispose();
  });
});

describe("executor choice", () => {
  it("keeps a tiny model inline and puts a slow one in a worker", async () => {
    // 1 ms sits far from both models: the tiny one runs in ~0.05 ms, the slow one in 5 ms or more
    // even on an idle machine (the 20 ms of the shared runtime was within reach of the slow one).
    const choosing = new InferenceRuntime({ inlineMaxMs: 1 });
    const tiny = await classifierModule();
    const slow = await slowModule({ depth: 2000 });
    dirs.push(tiny, slow);
    try {
      const inline = await loadModule({ dir: tiny.dir, manifest: tiny.manifest, runtime: choosing });
      const worker = await loadModule({ dir: slow.dir, manifest: slow.manifest, runtime: choosing });
      expect(inline.executorKind).toBe("inline");
      expect(worker.executorKind).toBe("worker");
      await Promise.all([inline.drainAndDispose(), worker.drainAndDispose()]);
    } finally {
      await choosing.close();
    }
  });
});

describe("executor choice without warm-up", () => {
  it("measures the first requests: a tiny model moves inline, a slow one stays in the worker", async () => {
    const choosing = new InferenceRuntime({ inlineMaxMs: 1 });
    const tiny = await classifierModule();
    const slow = await slowModule({ depth: 2000, runtime: { warmupRuns: 0 } });
    dirs.push(tiny, slow);
    const cold = { ...tiny.manifest, runtime: { ...tiny.manifest.runtime, warmupRuns: 0 } };
    try {
      const small = await loadModule({ dir: tiny.dir, manifest: cold, runtime: choosing });
      const big = await loadModule({ dir: slow.dir, manifest: slow.manifest, runtime: choosing });
      // Nothing timed yet: both start where a slow model is safe.
      expect(small.executorKind).toBe("worker");
      expect(big.executorKind).toBe("worker");
      const feed = () => ({ features: new Tensor("float32", Float32Array.from(rowOf(3)), [1, 4]) });
      const before = await small.run(feed());
      for (let i = 0; i < 3; i++) {
        await small.run(feed());
        await big.run({ x: new Tensor("float32", new Float32Array(256), [1, 256]) });
      }
      await waitFor("the tiny model to move inline", async () => small.executorKind === "inline");
      const after = await small.run(feed());
      expect(Array.from(after.logits!.data as Float32Array)).toEqual(
        Array.from(before.logits!.data as Float32Array),
      );
      expect(big.executorKind).toBe("worker");
      await Promise.all([small.drainAndDispose(), big.drainAndDispose()]);
    } finally {
      await choosing.close();
    }
  });
});

describe("queue bound and deadlines", () => {
  it("refuses requests past maxQueue at once and never queues more", async () => {
    const dir = await slowModule({ depth: 2000, runtime: { maxQueue: 2, maxBatch: 1, executor: "worker" } });
    dirs.push(dir);
    const module = await loadModule({ dir: dir.dir, manifest: dir.manifest, runtime });
    const x = () => ({ x: new Tensor("float32", new Float32Array(256 * 4), [4, 256]) });
    let deepest = 0;
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => {
        const run = module.run(x());
        deepest = Math.max(deepest, module.queueDepth);
        return run;
      }),
    );
    expect(deepest).toBeLessThanOrEqual(2);
    const refused = results.filter((r) => r.status === "rejected").map((r) => r.reason);
    // One runs, two wait, five are refused.
    expect(refused).toHaveLength(5);
    for (const error of refused) {
      expect(error).toBeInstanceOf(OverloadedError);
      expect((error as OverloadedError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
    await module.drainAndDispose();
  });

  it("fails requests whose deadline passes, queued or running", async () => {
    const dir = await slowModule({ depth: 2000, runtime: { timeoutMs: 5, maxBatch: 1, executor: "worker" } });
    dirs.push(dir);
    const module = await loadModule({ dir: dir.dir, manifest: dir.manifest, runtime });
    const x = () => ({ x: new Tensor("float32", new Float32Array(256 * 32), [32, 256]) });
    const results = await Promise.allSettled([module.run(x()), module.run(x())]);
    for (const result of results) {
      expect(result.status).toBe("rejected");
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(InferenceTimeoutError);
    }
    expect(module.queueDepth).toBe(0);
    await module.drainAndDispose();
  });
});

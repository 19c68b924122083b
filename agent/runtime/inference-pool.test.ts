import { Tensor } from "onnxruntime-node";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../../test/support/wait.js";
import { InferenceRuntime } from "./inference-runtime.js";
import { type LoadedModule, loadModule } from "./loaded-module.js";
import { WorkerCrashedError } from "./runtime-errors.js";
import { classifierModule, type ModuleDir, slowModule } from "./test-modules.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(settings: ConstructorParameters<typeof InferenceRuntime>[0] = {}) {
  const runtime = new InferenceRuntime(settings);
  cleanups.push(() => runtime.close());
  return runtime;
}
async function track<T extends ModuleDir>(dir: Promise<T>): Promise<T> {
  const value = await dir;
  cleanups.push(() => value.cleanup());
  return value;
}
const x = (rows: number) => ({
  x: new Tensor("float32", new Float32Array(256 * rows).fill(0.1), [rows, 256]),
});
const features = () => ({ features: new Tensor("float32", Float32Array.of(0.5, -1, 2, 0.25), [1, 4]) });

describe("inference worker crashes", () => {
  it("fails requests in flight cleanly, restarts the worker and serves again", async () => {
    const runtime = await setUp();
    const slowDir = await track(slowModule({ depth: 2000, runtime: { executor: "worker", maxBatch: 1 } }));
    const tinyDir = await track(classifierModule());
    const tinyManifest = {
      ...tinyDir.manifest,
      runtime: { ...tinyDir.manifest.runtime, executor: "worker" as const },
    };
    const slow = await loadModule({ dir: slowDir.dir, manifest: slowDir.manifest, runtime });
    const tiny = await loadModule({ dir: tinyDir.dir, manifest: tinyManifest, runtime });
    const before = await tiny.run(features());
    // The worker is busy with a long run; the crash and then another request queue behind it.
    const long = slow.run(x(64));
    await waitFor(
      "the long run to reach the worker",
      async () => runtime.pool.pendingRequests > 0,
      10_000,
      1,
    );
    runtime.pool.crashWorker();
    const inFlight = tiny.run(features());
    // The long run may have been answered before the thread died, or failed with it.
    const first = await long.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (first !== undefined) expect(first).toBeInstanceOf(WorkerCrashedError);
    const error = await inFlight.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect((error as Error).message).toMatch(/crashed/);
    // The next request waits for the new thread, which reloaded both sessions.
    const after = await tiny.run(features());
    expect(Array.from(after.logits!.data as Float32Array)).toEqual(
      Array.from(before.logits!.data as Float32Array),
    );
    expect((await slow.run(x(1))).y!.dims).toEqual([1, 256]);
    expect(runtime.pool.restarts.crash).toBe(1);
    expect(runtime.pool.workerCount).toBe(1);
    await Promise.all([slow.drainAndDispose(), tiny.drainAndDispose()]);
  });

  it("recovers from an uncaught error thrown inside the worker", async () => {
    const runtime = await setUp();
    const dir = await track(classifierModule());
    const manifest = { ...dir.manifest, runtime: { ...dir.manifest.runtime, executor: "worker" as const } };
    const module = await loadModule({ dir: dir.dir, manifest, runtime });
    const before = await module.run(features());
    runtime.pool.crashWorker();
    await waitFor("the restart", async () => runtime.pool.restarts.crash === 1, 10_000, 10);
    const after = await module.run(features());
    expect(Array.from(after.logits!.data as Float32Array)).toEqual(
      Array.from(before.logits!.data as Float32Array),
    );
    await module.drainAndDispose();
  });

  it("stops a worker left without sessions", async () => {
    const runtime = await setUp();
    const dir = await track(classifierModule());
    const manifest = { ...dir.manifest, runtime: { ...dir.manifest.runtime, executor: "worker" as const } };
    const module = await loadModule({ dir: dir.dir, manifest, runtime });
    expect(runtime.pool.workerCount).toBe(1);
    await module.drainAndDispose();
    expect(runtime.pool.workerCount).toBe(0);
  });
});

describe("hot-swap memory", () => {
  it("recycles the worker every N swaps, keeps live sessions serving, and RSS stays bounded over 50 swaps", async () => {
    const runtime = await setUp({ recycleAfterReleases: 10 });
    const keeperDir = await track(classifierModule());
    const worker = (dir: ModuleDir) => ({
      ...dir.manifest,
      runtime: { ...dir.manifest.runtime, executor: "worker" as const },
    });
    const keeper = await loadModule({ dir: keeperDir.dir, manifest: worker(keeperDir), runtime });
    const expected = Array.from((await keeper.run(features())).logits!.data as Float32Array);
    const swapped = await track(slowModule({ depth: 50 }));
    let current: LoadedModule = await loadModule({ dir: swapped.dir, manifest: worker(swapped), runtime });
    await current.run(x(1));
    const rssAfterFirst = process.memoryUsage.rss();
    for (let i = 0; i < 50; i++) {
      const next = await loadModule({ dir: swapped.dir, manifest: worker(swapped), runtime });
      await next.run(x(1));
      await current.drainAndDispose();
      current = next;
    }
    expect(runtime.pool.restarts.recycle).toBe(5);
    // The keeper moved to each new thread with its session and still answers the same.
    expect(Array.from((await keeper.run(features())).logits!.data as Float32Array)).toEqual(expected);
    // Generous: the point is "bounded", not a tight figure (bench A5 measures it).
    expect(process.memoryUsage.rss()).toBeLessThan(rssAfterFirst + 256 * 1024 * 1024);
    await Promise.all([keeper.drainAndDispose(), current.drainAndDispose()]);
  });
});

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { afterEach, describe, expect, it } from "vitest";
import { buildFailingModel } from "../../modules/onnx/models.js";
import { loadModule, ModuleLoadError, ModuleUnavailableError } from "./loaded-module.js";
import { sessionOptions } from "./session-options.js";
import { classifierModule, idsModule, type ModuleDir, writeModuleDir } from "./test-modules.js";

const dirs: ModuleDir[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => dir.cleanup()));
});
async function track<T extends ModuleDir>(dir: Promise<T>): Promise<T> {
  const value = await dir;
  dirs.push(value);
  return value;
}

describe("loadModule", () => {
  it("loads a module whose scores equal a direct session.run and the JS reference", async () => {
    const { dir, manifest, model } = await track(classifierModule());
    const module = await loadModule({ dir, manifest });
    expect(module.name).toBe("classifier");
    expect(module.version).toBe("1.0.0");
    expect(module.inputs).toEqual(manifest.inputs);
    expect(module.state).toBe("serving");

    const rows = [
      [0.5, -1, 2, 0.25],
      [1, 2, 3, 4],
    ];
    const input = () => new Tensor("float32", Float32Array.from(rows.flat()), [2, 4]);
    const ours = await module.run({ features: input() });
    const direct = await InferenceSession.create(join(dir, "model.onnx"));
    const theirs = await direct.run({ features: input() });
    await direct.release();
    expect(Array.from(ours.logits!.data as Float32Array)).toEqual(
      Array.from(theirs.logits!.data as Float32Array),
    );
    const reference = model.predict(rows).flat();
    for (const [i, value] of (ours.logits!.data as Float32Array).entries()) {
      expect(value).toBeCloseTo(reference[i]!, 4);
    }
    await module.drainAndDispose();
    expect(module.state).toBe("disposed");
  });

  it("fetches only the requested outputs of an INT64 model", async () => {
    const { dir, manifest } = await track(idsModule());
    const module = await loadModule({ dir, manifest });
    const outputs = await module.run(
      { ids: new Tensor("int64", BigInt64Array.from([1n, 5n, 3n, 2n]), [1, 4]) },
      ["max_id"],
    );
    expect(Object.keys(outputs)).toEqual(["max_id"]);
    expect(outputs.max_id!.data).toEqual(BigInt64Array.from([5n]));
    await module.drainAndDispose();
  });

  it("turns thread spinning off unless the manifest allows it", () => {
    const runtime = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: "all" as const };
    const off = sessionOptions({
      ...runtime,
      allowSpinning: false,
      executionProviders: ["cpu"],
      warmupRuns: 1,
    });
    expect(off.extra).toEqual({
      session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } },
    });
    const on = sessionOptions({
      ...runtime,
      allowSpinning: true,
      executionProviders: ["cpu"],
      warmupRuns: 1,
    });
    expect(on.extra).toBeUndefined();
  });

  it("refuses a corrupt model file", async () => {
    const { dir, manifest } = await track(classifierModule());
    await writeFile(join(dir, "model.onnx"), new Uint8Array([8, 1, 2, 3, 4, 5, 6, 7]));
    const error = await loadModule({ dir, manifest }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModuleLoadError);
    expect((error as Error).message).toMatch(
      /classifier@1\.0\.0: .*model\.onnx is 8 bytes, the manifest says/,
    );
  });

  it("refuses a missing model file", async () => {
    const { dir, manifest } = await track(classifierModule());
    const error = await loadModule({
      dir,
      manifest: { ...manifest, model: { ...manifest.model, file: "gone.onnx" } },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModuleLoadError);
  });

  it("refuses an execution provider this build does not have", async () => {
    const { dir, manifest } = await track(classifierModule());
    const runtime = { ...manifest.runtime, executionProviders: ["dml"] };
    const error = await loadModule({ dir, manifest: { ...manifest, runtime } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModuleLoadError);
    expect((error as Error).message).toMatch(/dml/);
  });

  it.each([
    [
      "a wrong input name",
      { inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }] },
      /input "x" is declared.*model input "features" is missing/,
    ],
    [
      "a wrong input datatype",
      { inputs: [{ name: "features", datatype: "FP64", shape: [-1, 4] }] },
      /input "features" is FP64 in the manifest but FP32/,
    ],
    [
      "a wrong input shape",
      { inputs: [{ name: "features", datatype: "FP32", shape: [-1, 5] }] },
      /shape \[-1,5\] in the manifest but \[batch,4\]/,
    ],
    [
      "a wrong rank",
      { outputs: [{ name: "logits", datatype: "FP32", shape: [3] }] },
      /output "logits" has shape \[3\]/,
    ],
    [
      "an output the model lacks",
      {
        outputs: [
          { name: "logits", datatype: "FP32", shape: [-1, 3] },
          { name: "probs", datatype: "FP32", shape: [-1, 3] },
        ],
      },
      /output "probs" is declared in the manifest but the model has no such output/,
    ],
  ])("refuses a manifest with %s", async (_, change, message) => {
    const { dir, manifest } = await track(classifierModule());
    const error = await loadModule({ dir, manifest: { ...manifest, ...(change as object) } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ModuleLoadError);
    expect((error as Error).message).toMatch(/does not match the manifest/);
    expect((error as Error).message).toMatch(message);
  });

  it("refuses a model whose warm-up run fails, and loads it when warm-up is off", async () => {
    const failing = buildFailingModel();
    const fields = {
      name: "failing",
      version: "1.0.0",
      inputs: [{ name: "x", datatype: "FP32" as const, shape: [-1, 4] }],
      outputs: [{ name: "y", datatype: "FP32" as const, shape: [-1, 1] }],
    };
    const { dir, manifest } = await track(writeModuleDir(failing.bytes, fields));
    const error = await loadModule({ dir, manifest }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModuleLoadError);
    expect((error as Error).message).toMatch(/warm-up run failed/);
    const cold = await loadModule({
      dir,
      manifest: { ...manifest, runtime: { ...manifest.runtime, warmupRuns: 0 } },
    });
    await cold.drainAndDispose();
  });
});

describe("LoadedModule leases", () => {
  it("drains in-flight leases before releasing the session, and refuses new ones meanwhile", async () => {
    const { dir, manifest } = await track(idsModule());
    const module = await loadModule({ dir, manifest });
    module.acquire();
    expect(module.inFlight).toBe(1);
    const disposed = module.drainAndDispose();
    expect(module.state).toBe("draining");
    expect(() => module.acquire()).toThrow(ModuleUnavailableError);
    // The lease holder can still run: its session stays alive until it lets go.
    const out = await module.run({ ids: new Tensor("int64", new BigInt64Array(4), [1, 4]) });
    expect(out.sum!.data).toEqual(Float32Array.of(0));
    expect(module.state).toBe("draining");
    module.release();
    expect(await disposed).toEqual({ timedOut: false });
    expect(module.state).toBe("disposed");
    await expect(module.run({})).rejects.toBeInstanceOf(ModuleUnavailableError);
    expect(module.drainAndDispose()).toBe(disposed);
  });

  it("withLease holds the module for the whole callback", async () => {
    const { dir, manifest } = await track(idsModule());
    const module = await loadModule({ dir, manifest });
    let disposed: Promise<{ timedOut: boolean }> | undefined;
    const result = await module.withLease(async (held) => {
      disposed = held.drainAndDispose();
      await new Promise((resolve) => setImmediate(resolve));
      expect(held.state).toBe("draining");
      return "done";
    });
    expect(result).toBe("done");
    expect(await disposed).toEqual({ timedOut: false });
    expect(module.inFlight).toBe(0);
  });

  it("releases the session after the drain timeout when a lease is never returned", async () => {
    const { dir, manifest } = await track(idsModule());
    const module = await loadModule({ dir, manifest });
    module.acquire();
    expect(await module.drainAndDispose(5)).toEqual({ timedOut: true });
    expect(module.state).toBe("disposed");
  });
});

/**
 * Models that do not fit the easy defaults, packaged by the hub with defaults and served by the
 * agent's scoring server, each answer equal to a direct onnxruntime run:
 * - Silero-VAD-shaped: a state whose batch axis is 1 ([2, batch, 4]), an INT64 scalar sample
 *   rate, and a reflect pad that cannot run on length 1 (the default warm-up), which packaging
 *   probes past and records as runtime.warmupInputs.
 * - a model no probe can warm up, refused at packaging with the field that fixes it, and then
 *   packaged with that one field.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, type Harness, startHarness } from "../../agent/http/test-harness.js";
import { loadModule, ModuleLoadError } from "../../agent/runtime/loaded-module.js";
import type { Manifest } from "../../modules/manifest.js";
import { GraphBuilder } from "../../modules/onnx/builder.js";
import { buildStatefulVadModel } from "../../modules/onnx/fit-models.js";
import { unpackModule } from "../../modules/unpack.js";
import { type ApiTestApp, createApiTestApp } from "../support/api-app.js";
import { expectApiError, expectJson } from "../support/api-expect.js";

let api: ApiTestApp;
let work: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  api = await createApiTestApp();
  work = await mkdtemp(join(tmpdir(), "edgefleet-fit-"));
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await api?.close();
  await rm(work, { recursive: true, force: true });
});

async function register(name: string, bytes: Uint8Array): Promise<void> {
  await expectJson(
    await api.call("POST", `/api/v1/models/${name}/versions`, {
      body: bytes,
      headers: { "content-type": "application/octet-stream" },
    }),
  );
}

/** Packages through the hub's API and unpacks the signed tarball as a device would. */
async function packageAndUnpack(body: Record<string, unknown>): Promise<{ dir: string; manifest: Manifest }> {
  const created = await expectJson<{ tarballSha256: string; manifest: Manifest }>(
    await api.call("POST", "/api/v1/modules", { as: "operator", json: body }),
  );
  const dir = join(work, `${String(body.name)}-${String(body.version)}`);
  const manifest = await unpackModule({
    tarball: api.blobs.path(created.tarballSha256),
    destDir: dir,
    publicKeyPem: api.signing.publicKeyPem,
  });
  return { dir, manifest };
}

describe("a stateful model with a non-leading batch axis and an INT64 scalar input", () => {
  const vad = buildStatefulVadModel();
  let h: Harness;
  let direct: InferenceSession;
  let manifest: Manifest;

  beforeAll(async () => {
    await register("vad", vad.bytes);
    const packed = await packageAndUnpack({
      name: "vad",
      version: "1.0.0",
      model: { name: "vad", version: 1 },
    });
    manifest = packed.manifest;
    h = await startHarness([{ ...packed, cleanup: async () => undefined }]);
    cleanups.push(() => h.close());
    direct = await InferenceSession.create(vad.bytes);
    cleanups.push(() => direct.release());
  });

  it("packaging with defaults finds a warm-up that runs and the batch axis of every output", () => {
    // Length 1 cannot be reflect-padded: the probe moved past it; the batch stays 1 on both inputs.
    expect(manifest.runtime.warmupInputs).toEqual({
      input: { shape: [1, 2] },
      state: { shape: [2, 1, 4] },
      sr: { shape: [] },
    });
    expect(manifest.postprocessing).toEqual({ kind: "raw", batchAxes: { output: 0, stateN: 1 } });
  });

  const samples = [
    [0.1, 0.5, -0.2, 0.9, 0.3, 0.7],
    [-0.4, 0.2, 0.8, -0.6, 0.1, 0.05],
  ];
  const state = Array.from({ length: 2 * 2 * 4 }, (_, i) => (i % 5) / 10 - 0.2);

  async function expected() {
    return direct.run({
      input: new Tensor("float32", Float32Array.from(samples.flat()), [2, 6]),
      state: new Tensor("float32", Float32Array.from(state), [2, 2, 4]),
      sr: new Tensor("int64", BigInt64Array.of(16000n), []),
    });
  }

  it("OIP infer answers exactly what onnxruntime answers, batch 2", async () => {
    const reply = await call(`${h.server.url}/v2/models/vad/infer`, "POST", {
      inputs: [
        { name: "state", datatype: "FP32", shape: [2, 2, 4], data: state },
        { name: "input", datatype: "FP32", shape: [2, 6], data: samples.flat() },
        { name: "sr", datatype: "INT64", shape: [], data: [16000] },
      ],
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const outputs = (reply.body as { outputs: { name: string; shape: number[]; data: number[] }[] }).outputs;
    const want = await expected();
    for (const name of ["output", "stateN"]) {
      const got = outputs.find((o) => o.name === name)!;
      expect(got.shape).toEqual([...want[name]!.dims]);
      expect(got.data).toEqual(Array.from(want[name]!.data as Float32Array));
    }
  });

  it("the score route gives each row its own slice of the state, along axis 1", async () => {
    const reply = await call(`${h.server.url}/v1/modules/vad/score`, "POST", {
      inputs: {
        state: { shape: [2, 2, 4], data: state },
        input: samples,
        sr: { shape: [], data: [16000] },
      },
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const predictions = (reply.body as { predictions: { output: number[]; stateN: number[][] }[] })
      .predictions;
    const want = await expected();
    const out = Array.from(want.output!.data as Float32Array);
    const stateN = Array.from(want.stateN!.data as Float32Array);
    expect(predictions).toHaveLength(2);
    for (let row = 0; row < 2; row++) {
      expect(predictions[row]!.output).toEqual([out[row]]);
      // stateN[layer, row, :] for both layers: not the first half of the flat tensor.
      const slice = [0, 1].map((layer) => stateN.slice((layer * 2 + row) * 4, (layer * 2 + row + 1) * 4));
      expect(predictions[row]!.stateN).toEqual(slice);
    }
  });
});

/**
 * A model that runs only when the samples come in threes: Reshape to [-1, 3]. The default (1) and
 * every probed size (powers of two) fail; y = reshape(x) · sr / 8000 makes the INT64 scalar count.
 */
function buildPickyModel(): Uint8Array {
  const g = new GraphBuilder("picky");
  g.input("x", "FP32", ["batch", "n"]);
  g.input("sr", "INT64", []);
  g.initializer("target", BigInt64Array.of(-1n, 3n), [2]);
  g.initializer("eight_k", Float32Array.of(8000), []);
  g.node("Reshape", ["x", "target"], ["rows"]);
  g.node("Cast", ["sr"], ["sr_float"], { to: 1 });
  g.node("Div", ["sr_float", "eight_k"], ["scale"]);
  g.node("Mul", ["rows", "scale"], ["y"]);
  g.output("y", "FP32", ["batch", 3]);
  return g.toModel({ opset: 17 });
}

describe("a model no default warm-up can run", () => {
  const bytes = buildPickyModel();
  beforeAll(() => register("picky", bytes));

  it("is refused at packaging with a 400 naming runtime.warmupInputs, and nothing is stored", async () => {
    const error = await expectApiError(
      await api.call("POST", "/api/v1/modules", {
        as: "operator",
        json: { name: "picky", version: "1.0.0", model: { name: "picky", version: 1 } },
      }),
      400,
      "bad_request",
    );
    expect(error.message).toMatch(/runtime\.warmupInputs/);
    expect(await api.repos.modules.get("picky", "1.0.0")).toBeNull();
  });

  it("refuses given warm-up inputs that do not run, naming them", async () => {
    const error = await expectApiError(
      await api.call("POST", "/api/v1/modules", {
        as: "operator",
        json: {
          name: "picky",
          version: "1.0.0",
          model: { name: "picky", version: 1 },
          runtime: { warmupInputs: { x: { shape: [1, 4] }, sr: { shape: [], data: [8000] } } },
        },
      }),
      400,
      "bad_request",
    );
    expect(error.message).toMatch(/runtime\.warmupInputs do not run/);
  });

  it("packages with the one documented field and serves answers equal to onnxruntime's", async () => {
    const packed = await packageAndUnpack({
      name: "picky",
      version: "1.0.0",
      model: { name: "picky", version: 1 },
      runtime: { warmupInputs: { x: { shape: [1, 3] }, sr: { shape: [], data: [8000] } } },
    });
    const h = await startHarness([{ ...packed, cleanup: async () => undefined }]);
    cleanups.push(() => h.close());
    const x = [1.5, -2, 3.25, 4, 5, 6];
    // sr 16000 doubles the answer: the scalar reaches the model as given.
    const reply = await call(`${h.server.url}/v2/models/picky/infer`, "POST", {
      inputs: [
        { name: "x", datatype: "FP32", shape: [2, 3], data: x },
        { name: "sr", datatype: "INT64", shape: [], data: [16000] },
      ],
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const direct = await InferenceSession.create(bytes);
    cleanups.push(() => direct.release());
    const want = await direct.run({
      x: new Tensor("float32", Float32Array.from(x), [2, 3]),
      sr: new Tensor("int64", BigInt64Array.of(16000n), []),
    });
    const got = (reply.body as { outputs: { data: number[] }[] }).outputs[0]!;
    expect(got.data).toEqual(Array.from(want.y!.data as Float32Array));
  });

  it("the agent's failed warm-up names the manifest field that fixes it", async () => {
    const packed = await packageAndUnpack({
      name: "picky",
      version: "2.0.0",
      model: { name: "picky", version: 1 },
      runtime: { warmupRuns: 0 },
    });
    // Packaged without a warm-up; a device told to warm up anyway reports what to set.
    const manifest = { ...packed.manifest, runtime: { ...packed.manifest.runtime, warmupRuns: 1 } };
    const failure = await loadModule({ dir: packed.dir, manifest }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ModuleLoadError);
    expect((failure as Error).message).toMatch(
      /warm-up run failed on x FP32 \[1,1\] zeros, sr INT64 \[\] zeros: .*runtime\.warmupInputs/,
    );
  });
});

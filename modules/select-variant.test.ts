import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { getProfile } from "../firmware-profiles/index.js";
import type { Capabilities } from "../wire/messages.js";
import { buildMlpClassifier } from "./onnx/models.js";
import { packModule, unpackModule } from "./pack.js";
import { manifestForDevice, selectVariant } from "./select-variant.js";
import { generateSigningKeyPair } from "./sign.js";

const keys = generateSigningKeyPair();
const base = buildMlpClassifier({ inputSize: 3, hiddenSizes: [8], classes: 2, seed: 1 });
const small = buildMlpClassifier({ inputSize: 3, hiddenSizes: [2], classes: 2, seed: 2 });
const gpu = buildMlpClassifier({ inputSize: 3, hiddenSizes: [16], classes: 2, seed: 3 });
const root = await mkdtemp(join(tmpdir(), "edgefleet-variants-"));
afterAll(() => rm(root, { recursive: true, force: true }));

const packed = await packModule({
  manifest: { name: "v", version: "1.0.0", model: { file: "model.onnx" } },
  modelBytes: base.bytes,
  privateKeyPem: keys.privateKeyPem,
  variants: [
    {
      name: "jetson",
      requires: { profiles: ["jetson-orin-nano"], executionProviders: ["tensorrt"] },
      runtime: { executionProviders: ["tensorrt", "cpu"] },
      modelBytes: gpu.bytes,
    },
    { name: "small", requires: { arch: ["arm64"], precision: ["int8"] }, modelBytes: small.bytes },
  ],
});
const manifest = packed.manifest;

const caps = (arch: string, executionProviders: string[]): Capabilities => ({
  arch,
  platform: "linux",
  cpus: 4,
  memoryMb: 4000,
  executionProviders,
  onnxruntimeVersion: "1.30.0",
});

describe("selectVariant", () => {
  it("gives each device the first variant it satisfies, else the base model", () => {
    const jetson = selectVariant(
      manifest,
      getProfile("jetson-orin-nano"),
      caps("arm64", ["tensorrt", "cuda", "cpu"]),
    );
    expect(jetson.variant?.name).toBe("jetson");
    expect(jetson.runtime.executionProviders).toEqual(["tensorrt", "cpu"]);

    const pi5 = selectVariant(manifest, getProfile("raspberry-pi-5"), caps("arm64", ["cpu"]));
    expect(pi5.variant?.name).toBe("small");
    expect(pi5.passedOver[0]).toMatchObject({ name: "jetson" });
    expect(pi5.model.file).toBe("variant-small.onnx");

    const gateway = selectVariant(
      manifest,
      getProfile("x86-64-gateway"),
      caps("x64", ["cpu", "cuda", "tensorrt"]),
    );
    expect(gateway.variant).toBeNull();
    expect(gateway.model).toEqual(manifest.model);
  });

  it("does not trust a provider the profile does not declare (onnxruntime lists CUDA on any x64)", () => {
    const choice = selectVariant(
      { ...manifest, variants: [{ ...manifest.variants![0]!, requires: { executionProviders: ["cuda"] } }] },
      getProfile("x86-64-gateway"),
      caps("x64", ["cpu", "cuda"]),
    );
    expect(choice.variant).toBeNull();
    expect(choice.passedOver[0]?.reasons.join()).toMatch(/cuda not available \(cpu\)/);
  });

  it("never satisfies a requirement on an unknown fact", () => {
    const choice = selectVariant(manifest, null, null);
    expect(choice.variant).toBeNull();
    expect(choice.passedOver.map((p) => p.reasons.join())).toEqual([
      expect.stringMatching(/profile unknown/),
      expect.stringMatching(/arch unknown.*precision unknown/),
    ]);
  });

  it("manifestForDevice swaps model and runtime only for a variant", () => {
    const pi5 = selectVariant(manifest, getProfile("raspberry-pi-5"), null);
    expect(manifestForDevice(manifest, pi5).model.file).toBe("variant-small.onnx");
    const none = selectVariant(manifest, null, null);
    expect(manifestForDevice(manifest, none)).toBe(manifest);
  });
});

describe("packing variants", () => {
  it("carries every variant's file, hashed, and unpacks them all", async () => {
    expect(manifest.variants?.map((v) => [v.name, v.model.file, v.model.size])).toEqual([
      ["jetson", "variant-jetson.onnx", gpu.bytes.byteLength],
      ["small", "variant-small.onnx", small.bytes.byteLength],
    ]);
    const dest = join(root, "v-1.0.0");
    await unpackModule({ tarball: packed.tarball, destDir: dest, publicKeyPem: keys.publicKeyPem });
    expect((await readdir(dest)).sort()).toEqual([
      "model.onnx",
      "module.json",
      "module.sig",
      "variant-jetson.onnx",
      "variant-small.onnx",
    ]);
  });

  it("refuses a variant whose model does not fit the module's inputs", async () => {
    const wrong = buildMlpClassifier({ inputSize: 5, hiddenSizes: [2], classes: 2, seed: 4 });
    await expect(
      packModule({
        manifest: { name: "v", version: "1.0.0", model: { file: "model.onnx" } },
        modelBytes: base.bytes,
        privateKeyPem: keys.privateKeyPem,
        variants: [{ name: "bad", modelBytes: wrong.bytes }],
      }),
    ).rejects.toThrow(/variant "bad": input "features" has shape/);
  });

  it("refuses duplicate variant names and non-ONNX variant bytes", async () => {
    const options = {
      manifest: { name: "v", version: "1.0.0", model: { file: "model.onnx" } },
      modelBytes: base.bytes,
      privateKeyPem: keys.privateKeyPem,
    };
    await expect(
      packModule({
        ...options,
        variants: [
          { name: "a", modelBytes: small.bytes },
          { name: "a", modelBytes: small.bytes, file: "other.onnx" },
        ],
      }),
    ).rejects.toThrow(/variant name "a" appears twice/);
    await expect(
      packModule({ ...options, variants: [{ name: "junk", modelBytes: new Uint8Array([1, 2, 3]) }] }),
    ).rejects.toThrow(/variant "junk"/);
  });

  it("refuses a tarball missing a declared variant file", async () => {
    const { readTarGz } = await import("./tar-reader.js");
    const { writeTarGz } = await import("./tar-writer.js");
    const { Readable } = await import("node:stream");
    const entries: { name: string; data: Uint8Array }[] = [];
    await readTarGz(Readable.from([packed.tarball]), {
      maxBytes: 1e8,
      async onEntry(entry) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry.body) chunks.push(chunk);
        if (entry.path !== "variant-small.onnx")
          entries.push({ name: entry.path, data: Buffer.concat(chunks) });
      },
    });
    await expect(
      unpackModule({
        tarball: writeTarGz(entries),
        destDir: join(root, "missing"),
        publicKeyPem: keys.publicKeyPem,
      }),
    ).rejects.toThrow(/no model file \(variant-small.onnx\)/);
  });
});

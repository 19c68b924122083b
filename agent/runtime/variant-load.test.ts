import { mkdtemp, rm } from "node:fs/promises";
import { arch, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { getProfile } from "../../firmware-profiles/index.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { packModule, unpackModule } from "../../modules/pack.js";
import { generateSigningKeyPair } from "../../modules/sign.js";
import { loadModule, warmupFeeds } from "./loaded-module.js";

const keys = generateSigningKeyPair();
const root = await mkdtemp(join(tmpdir(), "edgefleet-variant-load-"));
afterAll(() => rm(root, { recursive: true, force: true }));

const base = buildMlpClassifier({ inputSize: 3, hiddenSizes: [8], classes: 2, seed: 1 });
const small = buildMlpClassifier({ inputSize: 3, hiddenSizes: [2], classes: 2, seed: 2 });
const packed = await packModule({
  manifest: { name: "v", version: "1.0.0", model: { file: "model.onnx" } },
  modelBytes: base.bytes,
  privateKeyPem: keys.privateKeyPem,
  variants: [
    { name: "int8-boards", requires: { precision: ["int8"] }, modelBytes: small.bytes },
    { name: "this-arch", requires: { arch: [arch()] }, modelBytes: small.bytes, file: "local.onnx" },
  ],
});
const dir = join(root, "v-1.0.0");
const manifest = await unpackModule({
  tarball: packed.tarball,
  destDir: dir,
  publicKeyPem: keys.publicKeyPem,
});

describe("loading a module with variants", () => {
  it("loads the first variant the device's profile satisfies", async () => {
    const module = await loadModule({
      dir,
      manifest,
      device: { profile: getProfile("raspberry-pi-zero-2w"), capabilities: null },
    });
    try {
      expect(module.manifest.model.file).toBe("variant-int8-boards.onnx");
      const outputs = await module.run(warmupFeeds(module.manifest));
      expect(Object.keys(outputs)).toEqual(["logits"]);
    } finally {
      await module.drainAndDispose();
    }
  });

  it("falls back to detected capabilities without a profile, and to the base model when nothing fits", async () => {
    const detected = await loadModule({ dir, manifest });
    expect(detected.manifest.model.file).toBe("local.onnx");
    await detected.drainAndDispose();
    const none = await loadModule({ dir, manifest, device: { profile: null, capabilities: null } });
    expect(none.manifest.model.file).toBe("model.onnx");
    await none.drainAndDispose();
  });
});

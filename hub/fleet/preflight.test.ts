import { describe, expect, it } from "vitest";
import { getProfile } from "../../firmware-profiles/index.js";
import { type Manifest, ManifestSchema } from "../../modules/manifest.js";
import type { Capabilities } from "../../wire/messages.js";
import { ortLimits } from "./ort-opsets.js";
import { estimateMemoryMb, type PreflightDevice, preflight } from "./preflight.js";

const MIB = 1024 * 1024;
const sha = (c: string) => c.repeat(64);

function manifest(change: Partial<Manifest> = {}, modelSize = 10 * MIB, opset = 17): Manifest {
  return {
    ...ManifestSchema.parse({
      schemaVersion: 1,
      name: "m",
      version: "1.0.0",
      model: { file: "model.onnx", sha256: sha("a"), size: modelSize, opset, irVersion: 8 },
      inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
      outputs: [{ name: "y", datatype: "FP32", shape: [-1, 2] }],
      createdAt: "2026-01-01T00:00:00.000Z",
    }),
    ...change,
  };
}

const piCaps: Capabilities = {
  arch: "arm64",
  platform: "linux",
  cpus: 4,
  memoryMb: 3800,
  executionProviders: ["cpu"],
  onnxruntimeVersion: "1.30.0",
};

function device(profileId: string | null, capabilities: Capabilities | null = piCaps): PreflightDevice {
  return { id: "d1", profileId, profile: profileId ? getProfile(profileId) : null, capabilities };
}

describe("preflight", () => {
  it("passes a small model on a Raspberry Pi 5", () => {
    const result = preflight(device("raspberry-pi-5"), { manifest: manifest(), tarballSize: 9 * MIB });
    expect(result).toMatchObject({ ok: true, reasons: [], warnings: [], variant: null });
    expect(result.estimate.memoryMb).toBe(estimateMemoryMb(10 * MIB));
  });

  it("refuses a model bigger than the disk budget of a small board", () => {
    const result = preflight(device("raspberry-pi-zero-2w"), {
      manifest: manifest({}, 300 * MIB),
      tarballSize: 290 * MIB,
    });
    expect(result.ok).toBe(false);
    expect(result.reasons.join()).toMatch(/disk: needs 590 MiB.*budget is 512 MiB/);
  });

  it("refuses a model whose memory estimate is above the budget", () => {
    const result = preflight(device("raspberry-pi-zero-2w"), {
      manifest: manifest({}, 60 * MIB),
      tarballSize: 55 * MIB,
    });
    expect(result.reasons).toEqual([
      `memory: model needs about ${estimateMemoryMb(60 * MIB)} MiB, budget is 128 MiB`,
    ]);
  });

  it("honours a declared memory need larger than the estimate", () => {
    const m = manifest({ resources: { memoryMb: 3000 } });
    expect(preflight(device("raspberry-pi-5"), { manifest: m, tarballSize: MIB }).reasons.join()).toMatch(
      /needs about 3000 MiB, budget is 2048/,
    );
  });

  it("refuses an opset or IR version newer than the device's onnxruntime", () => {
    const old = { ...piCaps, onnxruntimeVersion: "1.14.1" };
    const result = preflight(device("raspberry-pi-4", old), {
      manifest: manifest({}, MIB, 21),
      tarballSize: MIB,
    });
    expect(result.reasons.join("\n")).toMatch(/opset 21, onnxruntime 1.14.1 supports up to 18/);
    const ir = manifest();
    ir.model = { ...ir.model, irVersion: 10, opset: 17 };
    expect(
      preflight(device("raspberry-pi-4", old), { manifest: ir, tarballSize: MIB }).reasons.join(),
    ).toMatch(/IR 10, onnxruntime 1.14.1 loads up to 8/);
  });

  it("refuses execution providers the device lacks, even when onnxruntime lists them", () => {
    const m = manifest();
    m.runtime = { ...m.runtime, executionProviders: ["cuda", "cpu"] };
    const x64Caps = { ...piCaps, arch: "x64", executionProviders: ["cpu", "webgpu", "cuda", "tensorrt"] };
    const result = preflight(device("x86-64-gateway", x64Caps), { manifest: m, tarballSize: MIB });
    expect(result.reasons).toEqual(["execution providers: model asks for cuda, device has cpu"]);
  });

  it("gives a constrained board the variant that fits it", () => {
    const big = manifest({}, 200 * MIB);
    big.variants = [
      {
        name: "int8",
        requires: { precision: ["int8"], minMemoryMb: 64 },
        model: { file: "int8.onnx", sha256: sha("b"), size: 20 * MIB, opset: 17 },
      },
    ];
    const zero = preflight(device("raspberry-pi-zero-2w"), { manifest: big, tarballSize: 150 * MIB });
    expect(zero).toMatchObject({ ok: true, variant: "int8" });
    const gateway = preflight(device("x86-64-gateway", { ...piCaps, arch: "x64" }), {
      manifest: big,
      tarballSize: 150 * MIB,
    });
    expect(gateway).toMatchObject({ ok: true, variant: null });
  });

  it("lets a validated int8 variant reach int8 profiles only within the threshold, and says what it trades", () => {
    const m = manifest({}, 4 * MIB);
    m.variants = [
      {
        name: "int8",
        requires: { precision: ["int8"] },
        model: { file: "variant-int8.onnx", sha256: sha("c"), size: MIB, opset: 17 },
        validation: {
          metric: "accuracy",
          higherIsBetter: true,
          reference: 0.96,
          value: 0.95,
          relativeLoss: 0.01 / 0.96,
          testRows: 100,
          method: "int8-dynamic",
        },
      },
    ];
    const pi5 = device("raspberry-pi-5");
    const byDefault = preflight(pi5, { manifest: m, tarballSize: 5 * MIB });
    expect(byDefault.ok).toBe(false);
    expect(byDefault.reasons).toEqual([
      'variant "int8": accuracy 0.9600 → 0.9500 on 100 test rows is 1.04 % worse than the base model, over the 1.00 % threshold',
    ]);
    const relaxed = preflight(pi5, { manifest: m, tarballSize: 5 * MIB, maxVariantLoss: 0.02 });
    expect(relaxed).toMatchObject({
      ok: true,
      variant: "int8",
      trade: {
        variant: "int8",
        metric: "accuracy",
        relativeLoss: 0.01 / 0.96,
        size: MIB,
        baseSize: 4 * MIB,
        maxLoss: 0.02,
      },
    });
    // An fp32 profile loads the base model: the int8 figures do not concern it.
    expect(preflight(device("raspberry-pi-4"), { manifest: m, tarballSize: 5 * MIB })).toMatchObject({
      ok: true,
      variant: null,
    });
    // An int8 variant nobody validated is a warning, not a silent pass.
    delete m.variants[0]!.validation;
    expect(preflight(pi5, { manifest: m, tarballSize: 5 * MIB }).warnings.join()).toMatch(
      /carries no validation/,
    );
  });

  it("warns instead of refusing when nothing is known about the device", () => {
    const result = preflight(device(null, null), { manifest: manifest(), tarballSize: MIB });
    expect(result.ok).toBe(true);
    expect(result.warnings.join("\n")).toMatch(/nothing to check against/);
    const unknownProfile = preflight(
      { ...device(null), profileId: "toaster" },
      { manifest: manifest(), tarballSize: MIB },
    );
    expect(unknownProfile.warnings.join()).toMatch(/"toaster" is not a known profile/);
  });
});

describe("ortLimits", () => {
  it.each([
    ["1.30.0", 23, 11],
    ["1.20.1", 21, 10],
    ["1.17.3", 20, 9],
    ["1.14.1", 18, 8],
  ])("onnxruntime %s implements opset %i, IR %i", (version, maxOpset, maxIrVersion) => {
    expect(ortLimits(version)).toEqual({ maxOpset, maxIrVersion });
  });

  it("places no unknown or ancient version", () => {
    expect(ortLimits("banana")).toBeNull();
    expect(ortLimits("0.5.0")).toBeNull();
  });
});

/**
 * int8 variants end to end through the built CLI against a real hub with its in-hub trainer:
 * train the MLP recipe on penguins, `models quantize` (int8 file measured against float on the
 * test split by the hub), `models package --int8`, and `deploy`, whose preflight gives int8
 * profiles the int8 file only within the operator's threshold and says so. Refusals change nothing.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobStore } from "../../hub/blobs/blob-store.js";
import { projectRoot } from "../../lib/paths.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { startTestHub, type TestHub } from "../support/hub.js";

const execFileAsync = promisify(execFile);
const cli = join(projectRoot(), "bin", "edgefleet.js");
const penguins = join(projectRoot(), "test", "fixtures", "datasets", "penguins.csv");

let hub: TestHub;
let env: NodeJS.ProcessEnv;

async function edgefleet(...args: string[]) {
  return execFileAsync(process.execPath, [cli, ...args], { env, timeout: 240_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}

async function json<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const result = await edgefleet(...args, "--json");
  expect(result.code, `edgefleet ${args.join(" ")}\n${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout) as T;
}

interface Int8 {
  sha256: string;
  size: number;
  floatSize: number;
  metric: string;
  float: number;
  int8: number;
  relativeLoss: number;
  testRows: number;
  quantized: Record<string, number>;
}

beforeAll(async () => {
  hub = await startTestHub({ trainer: true });
  env = { ...process.env, EDGEFLEET_HUB_URL: hub.url, EDGEFLEET_TOKEN: hub.adminToken };
  const upload = await edgefleet("datasets", "upload", "penguins", penguins, "--target", "species");
  expect(upload.code, upload.stderr).toBe(0);
  const trained = await edgefleet(
    "train",
    "--experiment",
    "penguins",
    "--dataset",
    "penguins",
    "--recipe",
    "mlp",
    "--wait",
  );
  expect(trained.code, `${trained.stdout}\n${trained.stderr}`).toBe(0);
  for (const [id, profile] of [
    ["pi5", "raspberry-pi-5"],
    ["pi4", "raspberry-pi-4"],
  ]) {
    const provisioned = await edgefleet("devices", "provision", id!, "--profile", profile!, "--json");
    expect(provisioned.code, provisioned.stderr).toBe(0);
  }
}, 300_000);

afterAll(async () => {
  await hub?.dispose();
});

describe("models quantize → package --int8 → deploy", () => {
  let int8: Int8;

  it("refuses a version without --int8 packaging before quantize, and changes nothing", async () => {
    const refused = await edgefleet("models", "package", "penguins", "1", "--int8", "--module", "early");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/no int8 variant.*models quantize penguins@1/);
    const { modules } = await hub.client.get<{ modules: unknown[] }>("/api/v1/modules");
    expect(modules).toEqual([]);
  });

  it("quantizes the MLP and records float and int8 measured on the same test rows", async () => {
    const version = await json<{ version: number; metrics: { test: { accuracy: number } }; int8: Int8 }>(
      "models",
      "quantize",
      "penguins@1",
    );
    int8 = version.int8;
    expect(int8.quantized.MatMul).toBeGreaterThanOrEqual(2);
    expect(int8.metric).toBe("accuracy");
    expect(int8.testRows).toBeGreaterThan(30);
    // The hub's float figure is the one it measured at registration: same rows, same model.
    expect(int8.float).toBeCloseTo(version.metrics.test.accuracy, 9);
    expect(int8.relativeLoss).toBeCloseTo((int8.float - int8.int8) / int8.float, 12);
    // The stored int8 file is a model onnxruntime runs.
    const bytes = await new BlobStore(hub.dataDir).read(int8.sha256);
    expect(bytes.byteLength).toBe(int8.size);
    await (await ort.InferenceSession.create(bytes)).release();
    const shown = await edgefleet("models", "show", "penguins@1");
    expect(shown.stdout).toMatch(/int8 \(dynamic\): \d+ bytes vs \d+ float/);
    expect(shown.stdout).toMatch(/accuracy on \d+ test rows: float [0-9.]+, int8 [0-9.]+/);
  });

  it("refuses to quantize an uploaded model (no test split) and a missing version", async () => {
    const file = join(projectRoot(), "test", "fixtures", "int8-upload.onnx");
    const { writeFile, rm } = await import("node:fs/promises");
    await writeFile(file, buildMlpClassifier({ inputSize: 4, hiddenSizes: [8], classes: 2, seed: 1 }).bytes);
    try {
      expect((await edgefleet("models", "register", "uploaded", file)).code).toBe(0);
    } finally {
      await rm(file, { force: true });
    }
    const refused = await edgefleet("models", "quantize", "uploaded@1");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/uploaded, not trained/);
    const shown = await json<{ int8: unknown }>("models", "show", "uploaded@1");
    expect(shown.int8).toBeNull();
    const missing = await edgefleet("models", "quantize", "penguins@9");
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/version 9/);
  });

  it("packages the int8 file as a signed variant carrying its validation", async () => {
    const module = await json<{
      manifest: {
        model: { size: number };
        variants: {
          name: string;
          requires: unknown;
          model: { sha256: string; size: number };
          validation: Record<string, unknown>;
        }[];
      };
    }>("models", "package", "penguins", "1", "--int8");
    const [variant] = module.manifest.variants;
    expect(variant).toMatchObject({
      name: "int8",
      requires: { precision: ["int8"] },
      model: { sha256: int8.sha256, size: int8.size },
      validation: {
        metric: "accuracy",
        reference: int8.float,
        value: int8.int8,
        relativeLoss: int8.relativeLoss,
        method: "int8-dynamic",
      },
    });
  });

  it("deploy: the int8 profile gets the int8 file within the threshold, the fp32 one the float model; a stricter threshold skips it", async () => {
    const within = int8.relativeLoss <= 0.01;
    const deployed = await edgefleet("deploy", "penguins@1.0.0", "--devices", "pi5,pi4");
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/1 device\(s\) load the base model/);
    if (within) expect(deployed.stdout).toMatch(/1 device\(s\) load the variant int8: accuracy .* % loss/);
    else
      expect(deployed.stdout).toMatch(/skipped pi5: variant "int8": accuracy .* over the 1.00 % threshold/);

    // A threshold below the measured loss refuses the int8 device; with loss 0 nothing is below, so
    // the refusal is shown with a loss the variant cannot meet only when there is one.
    if (int8.relativeLoss > 0) {
      const strict = await json<{ skipped: { deviceId: string; reasons: string[] }[] }>(
        "deploy",
        "penguins@1.0.0",
        "--devices",
        "pi5,pi4",
        "--max-int8-loss",
        String(int8.relativeLoss / 2),
      );
      expect(strict.skipped).toEqual([{ deviceId: "pi5", reasons: [expect.stringMatching(/over the/)] }]);
    }
    const bad = await edgefleet("deploy", "penguins@1.0.0", "--devices", "pi5", "--max-int8-loss", "150%");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--max-int8-loss takes a fraction/);
  });
});

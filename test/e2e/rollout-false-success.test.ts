/**
 * The false-success case, as a user meets it: a real hub with every rollout default (all-at-once,
 * bake 0), one real agent process, and `edgefleet deploy m@1.0.0 --devices d1 --watch` from the
 * built CLI. A module whose warm-up fails on the device must not be reported `completed`: the
 * deployment is rolled back, the watch exits 1 and names the device and its error, and the list
 * shows 0/1 active. The same command with a healthy module exits 0, so the test can fail both ways.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, spawnAgent } from "../../lib/agent-process.js";
import { projectRoot } from "../../lib/paths.js";
import { buildFailingModel, buildMlpClassifier } from "../../modules/onnx/models.js";
import { packModule } from "../../modules/pack.js";
import { startTestHub, type TestHub } from "../support/hub.js";

const cliPath = join(projectRoot(), "bin", "edgefleet.js");
let hub: TestHub;
let agent: AgentProcess;

/** Runs the CLI against the test hub; resolves with the exit code and output, never throws on exit 1. */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliPath, ...args, "--hub", hub.url, "--token", hub.adminToken],
      { timeout: 120_000, env: { ...process.env, EDGEFLEET_DATA: hub.dataDir } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function registerModule(name: string, bytes: Uint8Array) {
  const registered = await hub.client.request<{ version: number }>(
    "POST",
    `/api/v1/models/${name}/versions`,
    bytes,
  );
  await hub.client.post("/api/v1/modules", {
    name,
    version: "1.0.0",
    model: { name, version: registered.version },
  });
}

/**
 * A module, signed by the hub, whose model fails its warm-up on the device. The hub's own packaging
 * refuses such a model, so it goes into the registry as a device-specific failure would look:
 * packed and signed with the hub's key, recorded directly.
 */
async function registerBrokenModule() {
  const failing = buildFailingModel();
  const registered = await hub.client.request<{ id: number; version: number; sha256: string }>(
    "POST",
    "/api/v1/models/broken/versions",
    failing.bytes,
  );
  const versions = await hub.client.get<{ versions: { id: number; sha256: string }[] }>(
    "/api/v1/models/broken/versions",
  );
  const model = versions.versions[0]!;
  const packed = await packModule({
    manifest: {
      schemaVersion: 1,
      name: "broken",
      version: "1.0.0",
      model: { file: "model.onnx", sha256: model.sha256, size: failing.bytes.byteLength },
      inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
      outputs: [{ name: "y", datatype: "FP32", shape: [-1, 1] }],
      createdAt: new Date().toISOString(),
    },
    modelBytes: failing.bytes,
    privateKeyPem: hub.parts.signing.privateKeyPem,
  });
  await hub.parts.blobs.put(packed.tarball);
  await hub.parts.repos.modules.create({
    name: "broken",
    version: "1.0.0",
    modelVersionId: model.id,
    manifest: packed.manifest,
    tarballSha256: packed.sha256,
    tarballSize: packed.size,
  });
  expect(registered.version).toBe(1);
}

beforeAll(async () => {
  hub = await startTestHub();
  const { device, secret } = await hub.client.post<{ device: { id: string }; secret: string }>(
    "/api/v1/devices",
    { id: "d1" },
  );
  agent = await spawnAgent({
    hubUrl: hub.url,
    mqttUrl: hub.mqttUrl,
    deviceId: device.id,
    secret,
    trustKey: hub.parts.signing.publicKeyPem,
    logLevel: "info",
  });
  await registerBrokenModule();
  await registerModule(
    "healthy",
    buildMlpClassifier({ inputSize: 4, hiddenSizes: [4], classes: 2, seed: 1 }).bytes,
  );
}, 120_000);

afterAll(async () => {
  await agent?.stop();
  await hub?.dispose();
});

describe("deploy --watch with every default, one device", () => {
  it("a module whose warm-up fails on the only device: rolled back, exit 1, the device and its error named", async () => {
    const run = await cli("deploy", "broken@1.0.0", "--devices", "d1", "--watch");
    expect(run.code, `${run.stdout}\n${run.stderr}\n${agent.output()}`).toBe(1);
    expect(run.stdout).not.toMatch(/completed/);
    expect(run.stdout).toMatch(/: rolled-back \(wave 1 failed its gates: failures \(1 of 1 released devices/);
    expect(run.stdout).toMatch(/d1: failed — .*warm-up run failed/);
    const list = await cli("deployments", "list");
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/broken .*rolled-back .*0\/1 active \(1 failed\)/);
    const { deployments } = await hub.client.get<{
      deployments: { id: string; moduleName: string; status: string }[];
    }>("/api/v1/deployments");
    const d = deployments.find((x) => x.moduleName === "broken")!;
    const shown = await hub.client.get<{
      status: string;
      counts: Record<string, number>;
      outcome: { devices: { deviceId: string; verdict: string; reason: string }[] };
    }>(`/api/v1/deployments/${d.id}`);
    expect(shown.status).toBe("rolled-back");
    expect(shown.outcome.devices).toEqual([
      expect.objectContaining({
        deviceId: "d1",
        verdict: "failed",
        reason: expect.stringMatching(/warm-up/),
      }),
    ]);
    // The watch on an ended rollout says the same and exits 1 again.
    const again = await cli("deployments", "show", d.id, "--watch");
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/d1: failed/);
  }, 120_000);

  it("a healthy module on the same device: completed, exit 0", async () => {
    const run = await cli("deploy", "healthy@1.0.0", "--devices", "d1", "--watch");
    expect(run.code, `${run.stdout}\n${run.stderr}\n${agent.output()}`).toBe(0);
    expect(run.stdout).toMatch(
      /: completed \(every wave passed its gates and all 1 targeted device\(s\) are active\)/,
    );
    const list = await cli("deployments", "list");
    expect(list.stdout).toMatch(/healthy .*completed .*1\/1 active/);
  }, 120_000);
});

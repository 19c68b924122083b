/**
 * The single-executable agent: `buildAgent` (what `npm run build:agent` runs) makes the executable
 * and archive for this machine's profile (reused when nothing changed), and the built binary, run
 * outside the source tree as a device would, serves a module deployed by a real hub and scores like
 * a direct onnxruntime run. Profiles for another platform are refused with a clear message.
 */
import { execFile } from "node:child_process";
import { cp, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as ort from "onnxruntime-node";
import * as tar from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuiltAgent, buildAgent, checkProfilePlatform } from "../../agent/packaging/build-agent.js";
import { getProfile, listProfiles } from "../../firmware-profiles/index.js";
import { type AgentProcess, spawnAgent } from "../../lib/agent-process.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { getJson, waitFor } from "../support/wait.js";

const run = promisify(execFile);
const FEATURES = ["f0", "f1", "f2", "f3"];
const LABELS = ["low", "mid", "high"];
const profile =
  listProfiles().find(
    (p) => p.id === "x86-64-gateway" && p.os === process.platform && p.arch === process.arch,
  ) ?? listProfiles().find((p) => p.os === process.platform && p.arch === process.arch);

let built: BuiltAgent;
let hub: TestHub;
let agent: AgentProcess | undefined;
let installDir: string;

beforeAll(async () => {
  if (!profile) return;
  built = await buildAgent({ profile: profile.id });
  // Unpack the archive somewhere else: the binary must not need the source tree or package.json.
  installDir = await mkdtemp(join(tmpdir(), "edgefleet-sea-"));
  await tar.extract({ file: built.archive, cwd: installDir });
  hub = await startTestHub();
  // Building copies and patches a ~100 MB binary and gzips ~160 MB: ~10 s idle, far more on a busy box.
}, 300_000);

afterAll(async () => {
  await agent?.stop();
  await hub?.dispose();
  if (installDir) await rm(installDir, { recursive: true, force: true });
});

describe.skipIf(!profile)("single-executable agent", () => {
  it("ships the executable, onnxruntime's addon and library, the worker and the profile in one archive", async () => {
    const paths = built.files.map((f) => f.path);
    for (const file of [
      "edgefleet-agent",
      "onnxruntime_binding.node",
      "inference-worker.cjs",
      "profile.json",
      "build-manifest.json",
      `profiles/${profile!.id}.json`,
    ]) {
      expect(paths).toContain(file);
    }
    expect(paths.some((p) => p.startsWith("libonnxruntime"))).toBe(true);
    expect(built.archiveBytes).toBeGreaterThan(0);
    // Nothing changed since: the second call reuses the build.
    const again = await buildAgent({ profile: profile!.id });
    expect(again.cached).toBe(true);
    const exe = join(installDir, built.folder.split("/").pop()!, "edgefleet-agent");
    expect((await stat(exe)).mode & 0o111).not.toBe(0);
    const { stdout } = await run(exe, ["--version"]);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("refuses a profile for another arch or OS, and an unknown profile", async () => {
    const other = listProfiles().find((p) => p.arch !== process.arch || p.os !== process.platform);
    if (other) {
      expect(() => checkProfilePlatform(other)).toThrow(
        new RegExp(`profile "${other.id}" is for ${other.os}-${other.arch}, but this machine is`),
      );
      await expect(buildAgent({ profile: other.id })).rejects.toThrow(/build it on a/);
    }
    expect(() =>
      checkProfilePlatform(getProfile(profile!.id), "linux", "riscv64" as NodeJS.Architecture),
    ).toThrow(/this machine is linux-riscv64/);
    await expect(buildAgent({ profile: "no-such-profile" })).rejects.toThrow(/unknown firmware profile/);
  });

  it("runs as a device agent against a hub: serves the deployed module and scores like onnxruntime", {
    timeout: 180_000,
  }, async () => {
    const model = buildMlpClassifier({ inputSize: 4, hiddenSizes: [16], classes: 3, seed: 7 });
    const registered = await hub.client.request<{ version: number }>(
      "POST",
      "/api/v1/models/sea/versions",
      model.bytes,
    );
    await hub.client.post("/api/v1/modules", {
      name: "sea",
      version: "1.0.0",
      model: { name: "sea", version: registered.version },
      preprocessing: { kind: "tabular", input: "features", features: FEATURES.map((name) => ({ name })) },
      postprocessing: { kind: "softmax", output: "logits", labels: LABELS },
    });
    const { device, secret } = await hub.client.post<{ device: { id: string }; secret: string }>(
      "/api/v1/devices",
      {
        id: "sea-1",
        profile: profile!.id,
      },
    );
    // A copy of the unpacked folder, as installed on a device, away from the project tree.
    const folder = join(installDir, built.folder.split("/").pop()!);
    const installed = join(installDir, "installed");
    await cp(folder, installed, { recursive: true });
    agent = await spawnAgent({
      executable: join(installed, "edgefleet-agent"),
      hubUrl: hub.url,
      mqttUrl: hub.mqttUrl,
      deviceId: device.id,
      secret,
      // No trust key, but asked to pin the hub's key on first use: the binary's fetch path runs too.
      // Every model off the main thread: the worker script beside the executable must load too.
      env: { EDGEFLEET_INLINE_MAX_MS: "0", EDGEFLEET_TRUST_ON_FIRST_USE: "1" },
    });
    await hub.client.post("/api/v1/deployments", {
      module: "sea",
      version: "1.0.0",
      selector: { deviceIds: [device.id] },
    });
    await waitFor(
      () => `the executable serving sea@1.0.0\n${agent!.output()}`,
      async () => {
        const body = await getJson<{ modules: { name: string; version: string }[] }>(
          `${agent!.scoringUrl}/v1/modules`,
        );
        return body?.modules.some((m) => m.name === "sea" && m.version === "1.0.0");
      },
      120_000,
    );

    const row = [0.5, -1, 2, 0.25];
    const response = await fetch(`${agent.scoringUrl}/v1/modules/sea/score`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ features: Object.fromEntries(FEATURES.map((f, i) => [f, row[i]])) }),
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { predictions: { probabilities: Record<string, number> }[] };
    const session = await ort.InferenceSession.create(model.bytes);
    const direct = await session.run({ features: new ort.Tensor("float32", Float32Array.from(row), [1, 4]) });
    await session.release();
    const logits = Array.from(direct.logits!.data as Float32Array);
    const exps = logits.map((v) => Math.exp(v - Math.max(...logits)));
    const sum = exps.reduce((a, b) => a + b, 0);
    for (const [i, label] of LABELS.entries()) {
      expect(answer.predictions[0]!.probabilities[label]).toBeCloseTo(exps[i]! / sum, 5);
    }
    const loaded = agent
      .output()
      .split("\n")
      .filter((line) => line.includes('"module.loaded"'))
      .map((line) => JSON.parse(line) as { executor?: string });
    expect(loaded.map((entry) => entry.executor)).toEqual(["worker"]);
    const status = await hub.client.get<{ status?: { agentVersion?: string } }>(
      `/api/v1/devices/${device.id}`,
    );
    expect(status.status?.agentVersion ?? "").toMatch(/^\d+\.\d+\.\d+/);
  });
});

/** The built `edgefleet` CLI as a user runs it: `up` end to end, `hub` on a taken port, operator commands. */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../lib/paths.js";
import { startTestHub } from "../support/hub.js";
import { waitFor } from "../support/wait.js";

const run = promisify(execFile);
const cli = join(projectRoot(), "bin", "edgefleet.js");
const folders: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "edgefleet-cli-"));
  folders.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("edgefleet up", () => {
  it("starts hub and agent, deploys the demo model, and the printed curl example scores it", async () => {
    const data = await tempDir();
    // 1883 is taken on machines running Mosquitto: up must pick another port and say so.
    const env = { ...process.env, EDGEFLEET_DATA: data, EDGEFLEET_PORT: "0", EDGEFLEET_MQTT_PORT: "1883" };
    const up = spawn(process.execPath, [cli, "up"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    up.stdout.on("data", (chunk) => (stdout += chunk));
    try {
      await waitFor(
        `up to be ready; output so far:\n${stdout}`,
        async () => stdout.includes("stop:"),
        120_000,
        200,
      );
      expect(stdout).toContain("deployed demo-iris@1.0.0 to local-1");
      const curl = /curl -s -X POST (\S+) -H 'content-type: application\/json' -d '(.+)'/.exec(stdout);
      expect(curl, stdout).not.toBeNull();
      const response = await fetch(curl![1]!, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: curl![2],
      });
      expect(response.status).toBe(200);
      const answer = (await response.json()) as { predictions: { label: string }[] };
      expect(answer.predictions[0]!.label).toBe("setosa");
    } finally {
      const exited = new Promise<number | null>((resolve) => up.once("exit", (code) => resolve(code)));
      up.kill("SIGINT");
      expect(await exited).toBe(0);
    }
    // A second start reuses the device, model and module instead of registering them again.
    const second = await run(process.execPath, [cli, "up", "--exit"], { env, timeout: 120_000 });
    expect(second.stdout).toContain("edgefleet is up");
    expect(second.stdout).not.toContain("registered model");
  }, 240_000);
});

describe("edgefleet hub", () => {
  let blocker: Server | undefined;
  afterAll(() => blocker?.close());

  it("fails with a clear message when its HTTP port is taken", async () => {
    blocker = createServer();
    const port = await new Promise<number>((resolve) =>
      blocker!.listen(0, "127.0.0.1", () => resolve((blocker!.address() as { port: number }).port)),
    );
    const data = await tempDir();
    const result = await run(
      process.execPath,
      [cli, "hub", "--port", String(port), "--mqtt-port", "0", "--data", data],
      {
        timeout: 60_000,
      },
    ).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(result?.code).toBe(1);
    expect(result?.stderr).toContain(`port ${port}`);
    expect(result?.stderr).toContain("already in use");
  }, 90_000);

  it("fails with a clear message when its MQTT port is taken", async () => {
    const busy = createServer();
    const port = await new Promise<number>((resolve) =>
      busy.listen(0, "0.0.0.0", () => resolve((busy.address() as { port: number }).port)),
    );
    const data = await tempDir();
    const result = await run(
      process.execPath,
      [cli, "hub", "--port", "0", "--mqtt-port", String(port), "--data", data],
      {
        timeout: 60_000,
      },
    ).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    busy.close();
    expect(result?.code).toBe(1);
    expect(result?.stderr).toContain(String(port));
  }, 90_000);
});

describe("operator commands", () => {
  it("provision, register, package, deploy and list with --json against a running hub", async () => {
    const hub = await startTestHub();
    try {
      const env = { ...process.env, EDGEFLEET_HUB_URL: hub.url, EDGEFLEET_TOKEN: hub.adminToken };
      const json = async (...args: string[]) =>
        JSON.parse((await run(process.execPath, [cli, ...args, "--json"], { env })).stdout);
      const provisioned = await json("devices", "provision", "pump-7", "--tag", "site=plant-1");
      expect(provisioned.device.id).toBe("pump-7");
      const modelPath = join(await tempDir(), "model.onnx");
      const { buildDemoModel } = await import("../../cli/demo-model.js");
      await (await import("node:fs/promises")).writeFile(modelPath, buildDemoModel().bytes);
      const version = await json("models", "register", "iris", modelPath);
      expect(version.version).toBe(1);
      // The registry round trip: the bytes come back identical, named after the version.
      const downloadDir = await tempDir();
      const saved = await json("models", "download", "iris@1", "--output", join(downloadDir, "iris.onnx"));
      expect(saved).toMatchObject({ version: 1, sha256: version.sha256 });
      const fsp = await import("node:fs/promises");
      expect(
        Buffer.compare(await fsp.readFile(join(downloadDir, "iris.onnx")), await fsp.readFile(modelPath)),
      ).toBe(0);
      const again = await run(
        process.execPath,
        [cli, "models", "download", "iris", "--output", join(downloadDir, "iris.onnx")],
        { env },
      ).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(again?.stderr).toMatch(/exists; pass --force/);
      const created = await json(
        "modules",
        "create",
        "iris-mod",
        "1.0.0",
        "--model",
        "iris@1",
        "--features",
        "a,b,c,d",
        "--post",
        "argmax",
        "--labels",
        "x,y,z",
      );
      expect(created.manifest.preprocessing.features).toHaveLength(4);
      const deployment = await json("deploy", "iris-mod@1.0.0", "--selector", "site=plant-1");
      expect(deployment.targetDeviceIds).toEqual(["pump-7"]);
      const listed = await json("devices", "list", "--selector", "site=plant-1");
      expect(listed.map((d: { id: string }) => d.id)).toEqual(["pump-7"]);
      const failed = await run(process.execPath, [cli, "deploy", "iris-mod@9.9.9", "--devices", "pump-7"], {
        env,
      }).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toMatch(/does not exist.*HTTP 404/);
    } finally {
      await hub.dispose();
    }
  }, 90_000);
});

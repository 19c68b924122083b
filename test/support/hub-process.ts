/**
 * Test helpers: a real hub as its own process (`edgefleet hub`, embedded broker, PGlite), on ports
 * fixed up front so devices find it again after a restart, and killable with SIGKILL.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADMIN_TOKEN_FILE, type LocalHubInfo, readLocalHubInfo } from "../../hub/local-access.js";
import { HubClient } from "../../hub-api/client.js";
import { projectRoot } from "../../lib/paths.js";
import { freePort } from "../../lib/ports.js";
import { waitFor } from "./wait.js";

export interface HubProcessPlace {
  dataDir: string;
  port: number;
  mqttPort: number;
}

export interface HubProcess {
  info: LocalHubInfo;
  client: HubClient;
  mqttUrl: string;
  /** What the process wrote to stderr so far, for failure messages. */
  output(): string;
  /** Sends the signal and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** A fresh data folder and two free ports, for one hub started and restarted on them. */
export async function hubProcessPlace(): Promise<HubProcessPlace> {
  return {
    dataDir: await mkdtemp(join(tmpdir(), "edgefleet-hub-proc-")),
    port: await freePort(),
    mqttPort: await freePort(),
  };
}

/** Starts `edgefleet hub` on the place and resolves once its API answers. */
export async function startHubProcess(
  place: HubProcessPlace,
  env: NodeJS.ProcessEnv = {},
): Promise<HubProcess> {
  const bin = join(projectRoot(), "bin", "edgefleet.js");
  const args = [
    bin,
    "hub",
    ...["--data", place.dataDir, "--port", String(place.port)],
    ...["--mqtt-port", String(place.mqttPort), "--mqtt-host", "127.0.0.1", "--no-trainer"],
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    env: { ...process.env, EDGEFLEET_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const info = await waitFor(
    () => `the hub process to serve its API\n${stderr}`,
    async () => {
      if (child.exitCode !== null) throw new Error(`the hub exited during start-up\n${stderr}`);
      const found = await readLocalHubInfo(place.dataDir);
      // hub.json may be left by the previous process: only this child's counts.
      if (!found || found.pid !== child.pid) return undefined;
      const healthy = await fetch(`${found.url}/api/v1/health`).then(
        (r) => r.ok,
        () => false,
      );
      return healthy ? found : undefined;
    },
    60_000,
  );
  const token = (await readFile(join(place.dataDir, ADMIN_TOKEN_FILE), "utf8")).trim();
  return {
    info,
    client: new HubClient({ url: info.url, token }),
    mqttUrl: info.mqttUrl,
    output: () => stderr,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

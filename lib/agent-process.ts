/**
 * Starting `edgefleet agent` as its own process (as on a device): used by `edgefleet up`, the
 * end-to-end tests and the benchmarks. Needs the built CLI in dist/.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { projectRoot } from "./paths.js";
import { freePort } from "./ports.js";

export interface AgentProcess {
  deviceId: string;
  dataDir: string;
  port: number;
  scoringUrl: string;
  child: ChildProcess;
  /** What the process wrote (JSON log lines) when not sent to a file; for failure messages. */
  output(): string;
  /** Sends a signal (SIGTERM by default) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface AgentProcessOptions {
  hubUrl: string;
  mqttUrl: string;
  deviceId: string;
  /** The device secret; leave it out for a device that logs in with its certificate (`env`). */
  secret?: string;
  trustKey?: string;
  dataDir?: string;
  port?: number;
  telemetryIntervalMs?: number;
  logLevel?: string;
  /** Append logs to this file instead of keeping them in memory. */
  logFile?: string;
  /** Pin the process to these CPUs with taskset (benchmarks keep load generator and agent apart). */
  cpus?: string;
  /** More environment variables (e.g. the test-only EDGEFLEET_FAULT_KILL_AT). */
  env?: Record<string, string>;
  /** Run this executable (a single-executable agent build) instead of `node bin/edgefleet.js agent`. */
  executable?: string;
}

/** Spawns `edgefleet agent` with its configuration in the environment. */
export async function spawnAgent(options: AgentProcessOptions): Promise<AgentProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), `edgefleet-agent-${options.deviceId}-`)));
  const port = options.port ?? (await freePort());
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    EDGEFLEET_HUB_URL: options.hubUrl,
    EDGEFLEET_MQTT_URL: options.mqttUrl,
    EDGEFLEET_DEVICE_ID: options.deviceId,
    EDGEFLEET_DATA: dataDir,
    EDGEFLEET_AGENT_PORT: String(port),
    EDGEFLEET_TELEMETRY_INTERVAL_MS: String(options.telemetryIntervalMs ?? 500),
    EDGEFLEET_LOG_LEVEL: options.logLevel ?? "debug",
  };
  if (options.secret) env.EDGEFLEET_DEVICE_SECRET = options.secret;
  if (options.trustKey) env.EDGEFLEET_TRUST_KEY = options.trustKey;
  Object.assign(env, options.env);
  const cli = options.executable
    ? [options.executable]
    : [process.execPath, join(projectRoot(), "bin", "edgefleet.js"), "agent"];
  const [command, args] = options.cpus ? ["taskset", ["-c", options.cpus, ...cli]] : [cli[0]!, cli.slice(1)];
  const child = spawn(command, args as string[], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  if (options.logFile) {
    const file = createWriteStream(options.logFile, { flags: "a" });
    child.stdout?.pipe(file);
    child.stderr?.pipe(file);
  } else {
    child.stdout?.on("data", (chunk) => (output += chunk));
    child.stderr?.on("data", (chunk) => (output += chunk));
  }
  return {
    deviceId: options.deviceId,
    dataDir,
    port,
    scoringUrl: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    stop: (signal: NodeJS.Signals = "SIGTERM") =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill(signal);
      }),
  };
}

/**
 * Starting `edgefleet trainer` as its own process (as on a training machine): used by the tests
 * and the benchmarks. Needs the built CLI in dist/.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { projectRoot } from "./paths.js";

export interface TrainerProcess {
  id: string;
  dataDir: string;
  child: ChildProcess;
  /** What the process wrote (JSON log lines); for failure messages and log assertions. */
  output(): string;
  /** Sends a signal (SIGTERM by default) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface TrainerProcessOptions {
  hubUrl: string;
  token: string;
  /** Default `trainer-<random>`. */
  id?: string;
  name?: string;
  labels?: Record<string, string>;
  dataDir?: string;
  concurrency?: number;
  /** `--grace` in ms for SIGTERM (default 0 here: tests stop at once). */
  graceMs?: number;
  logLevel?: string;
  env?: Record<string, string>;
}

/** Spawns `edgefleet trainer` with its settings as flags. */
export async function spawnTrainer(options: TrainerProcessOptions): Promise<TrainerProcess> {
  const id = options.id ?? `trainer-${randomBytes(3).toString("hex")}`;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), `edgefleet-trainer-${id}-`)));
  const args = [
    join(projectRoot(), "bin", "edgefleet.js"),
    "trainer",
    "--hub",
    options.hubUrl,
    "--id",
    id,
    "--data",
    dataDir,
    "--grace",
    String(options.graceMs ?? 0),
    "--log-level",
    options.logLevel ?? "debug",
    ...(options.name ? ["--name", options.name] : []),
    ...(options.concurrency ? ["--concurrency", String(options.concurrency)] : []),
    ...Object.entries(options.labels ?? {}).flatMap(([key, value]) => ["--label", `${key}=${value}`]),
  ];
  // The token travels in the environment, not in argv (visible in `ps`).
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    EDGEFLEET_TOKEN: options.token,
    ...options.env,
  };
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  return {
    id,
    dataDir,
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

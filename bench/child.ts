/**
 * Bench helpers for measuring in a separate process: start this same compiled file with `--child`
 * (pinned to the agent's CPU when given), read the one JSON line it prints, and stop it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface BenchChild<T> {
  child: ChildProcess;
  /** The first JSON line the child printed. */
  ready: Promise<T>;
  /** Every later JSON line, in order. */
  next(): Promise<unknown>;
  stop(): Promise<void>;
}

/** True when `moduleUrl` is the script node was started with (a bench file run as a child). */
export function isMainModule(moduleUrl: string): boolean {
  return process.argv[1] === fileURLToPath(moduleUrl);
}

/** Starts `node <file of moduleUrl> --child ...args`, pinned with taskset when `cpus` is given. */
export function startChild<T>(moduleUrl: string, args: string[], cpus?: string): BenchChild<T> {
  const script = fileURLToPath(moduleUrl);
  const argv = [script, "--child", ...args];
  const child = cpus
    ? spawn("taskset", ["-c", cpus, process.execPath, ...argv], { stdio: ["pipe", "pipe", "inherit"] })
    : spawn(process.execPath, argv, { stdio: ["pipe", "pipe", "inherit"] });
  const lines: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  let buffer = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    let index = buffer.indexOf("\n");
    while (index >= 0) {
      const line = buffer.slice(0, index).trim();
      buffer = buffer.slice(index + 1);
      if (line.startsWith("{")) {
        const waiter = waiters.shift();
        if (waiter) waiter(line);
        else lines.push(line);
      }
      index = buffer.indexOf("\n");
    }
  });
  const next = () =>
    new Promise<unknown>((resolve, reject) => {
      const line = lines.shift();
      if (line !== undefined) return resolve(JSON.parse(line));
      child.once("exit", (code) => reject(new Error(`bench child exited (${code}) before answering`)));
      waiters.push((text) => resolve(JSON.parse(text)));
    });
  return {
    child,
    ready: next() as Promise<T>,
    next,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** Prints one JSON line for the parent (child side). */
export function answer(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Resident set size of a process in bytes, from /proc (Linux). */
export async function rssOf(pid: number): Promise<number> {
  const { readFile } = await import("node:fs/promises");
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return kb * 1024;
}

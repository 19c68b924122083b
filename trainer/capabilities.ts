/**
 * What a trainer worker offers the hub's matcher: CPU cores, memory, GPUs (from nvidia-smi when it
 * is installed), operator labels, the job kinds it runs, and its version.
 */
import { execFile } from "node:child_process";
import { availableParallelism, totalmem } from "node:os";
import type { GpuInfo, JobKind, WorkerCapabilities } from "../hub-api/training.js";
import { readPackageVersion } from "../lib/paths.js";

export type { GpuInfo, JobKind, WorkerCapabilities };

/** The query the worker runs; its output is what `parseNvidiaSmi` reads. */
export const NVIDIA_SMI_ARGS = ["--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"];

/**
 * Parses `nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits`:
 * one `index, name, MiB` line per GPU. Lines that do not fit (driver warnings, "[N/A]") are skipped,
 * so a half-working driver reports the GPUs it can describe instead of failing the worker.
 */
export function parseNvidiaSmi(output: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of output.split(/\r?\n/)) {
    const fields = line.split(",").map((field) => field.trim());
    if (fields.length < 3) continue;
    // A GPU name may contain commas in principle: index first, memory last, the name in between.
    const index = Number(fields[0]);
    const memoryMb = Number(fields[fields.length - 1]);
    const name = fields.slice(1, -1).join(", ");
    if (!/^\d+$/.test(fields[0]!) || !Number.isFinite(memoryMb) || fields[fields.length - 1] === "" || !name)
      continue;
    gpus.push({ index, name, memoryMb: Math.round(memoryMb) });
  }
  return gpus;
}

/** Runs nvidia-smi; no binary, a failing driver or a timeout all mean "no GPUs". */
export function detectGpus(timeoutMs = 5000): Promise<GpuInfo[]> {
  return new Promise((resolve) => {
    execFile("nvidia-smi", NVIDIA_SMI_ARGS, { timeout: timeoutMs, encoding: "utf8" }, (error, stdout) => {
      resolve(error ? [] : parseNvidiaSmi(stdout));
    });
  });
}

/** The capabilities this machine registers with; `gpus` can be given to skip detection (tests). */
export async function detectCapabilities(
  options: { labels?: Record<string, string>; kinds?: JobKind[]; gpus?: GpuInfo[] } = {},
): Promise<WorkerCapabilities> {
  return {
    cpus: availableParallelism(),
    memoryMb: Math.floor(totalmem() / (1024 * 1024)),
    gpus: options.gpus ?? (await detectGpus()),
    labels: { ...options.labels },
    kinds: options.kinds ?? ["builtin", "script"],
    version: readPackageVersion(),
  };
}

/** Parses `k=v` label flags; refuses anything else with the offending text. */
export function parseLabels(pairs: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`label "${pair}" is not key=value`);
    labels[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return labels;
}

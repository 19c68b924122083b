/** Whether a worker can take a run: its kind, labels, GPUs, CPUs and memory. */
import type { WorkerCapabilities } from "../db/schema/index.js";

export interface ComputeRequirements {
  labels?: Record<string, string>;
  gpus?: number;
  minCpus?: number;
  minMemoryMb?: number;
}

/** Null when the worker fits the run, else the first reason it does not (for logs and tests). */
export function mismatch(
  kind: "builtin" | "script",
  compute: ComputeRequirements | undefined,
  worker: WorkerCapabilities,
): string | null {
  if (!worker.kinds.includes(kind)) return `worker does not run ${kind} jobs`;
  for (const [key, value] of Object.entries(compute?.labels ?? {})) {
    if (worker.labels[key] !== value) return `label ${key}=${value} missing`;
  }
  if ((compute?.gpus ?? 0) > worker.gpus.length) return `needs ${compute?.gpus} GPUs`;
  if ((compute?.minCpus ?? 0) > worker.cpus) return `needs ${compute?.minCpus} CPUs`;
  if ((compute?.minMemoryMb ?? 0) > worker.memoryMb) return `needs ${compute?.minMemoryMb} MB of memory`;
  return null;
}

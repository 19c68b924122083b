/**
 * Which of the worker's GPUs a script job may use, as the CUDA_VISIBLE_DEVICES value its process
 * gets: the N GPUs the worker holds for a run that asked for N (`--gpus N`; the worker takes the
 * lowest-numbered free ones and tells the hub how many are free when it claims), none ("") for a
 * run that asked for none, so a CPU run does not take memory on a GPU it was not given.
 * A worker that reported no GPUs leaves the variable as its own environment has it.
 */
import type { GpuInfo } from "../hub-api/training.js";
import { ScriptError } from "./errors.js";

/** The requested GPU count from a run's compute selector (0 when absent). */
export function requestedGpus(compute: unknown): number {
  const gpus =
    typeof compute === "object" && compute !== null ? (compute as { gpus?: unknown }).gpus : undefined;
  return typeof gpus === "number" && Number.isInteger(gpus) && gpus > 0 ? gpus : 0;
}

/**
 * The CUDA_VISIBLE_DEVICES value for a run that asked for `requested` GPUs and holds `held` of the
 * worker's `workerGpus`, or undefined to leave the worker's own.
 */
export function cudaVisibleDevices(
  requested: number,
  held: readonly GpuInfo[],
  workerGpus: number,
): string | undefined {
  if (requested > held.length) {
    // The hub hands a worker only runs that fit its free GPUs, so this means they changed.
    throw new ScriptError(
      "script_failed",
      `the run asks for ${requested} GPUs; this worker has ${held.length} free of ${workerGpus}`,
      true,
    );
  }
  if (workerGpus === 0) return undefined;
  return [...held]
    .sort((a, b) => a.index - b.index)
    .slice(0, requested)
    .map((g) => String(g.index))
    .join(",");
}

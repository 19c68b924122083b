/** Test helpers: a real `edgefleet trainer` process registered with a test hub. */
import { rm } from "node:fs/promises";
import { spawnTrainer, type TrainerProcess, type TrainerProcessOptions } from "../../lib/trainer-process.js";
import type { TestHub } from "./hub.js";
import { waitFor } from "./wait.js";

export interface TestTrainer extends TrainerProcess {
  /** Stops the process (SIGTERM unless told) and removes its data folder. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns a worker against `hub` with a fresh `trainer` token and waits until the hub lists it. */
export async function startTestTrainer(
  hub: TestHub,
  options: Partial<TrainerProcessOptions> = {},
): Promise<TestTrainer> {
  // The role an external worker is given: the worker protocol only.
  const { token } = await hub.client.post<{ token: string }>("/api/v1/tokens", {
    name: "test-trainer",
    role: "trainer",
  });
  const worker = await spawnTrainer({ hubUrl: hub.url, token, ...options });
  try {
    await waitFor(
      `trainer ${worker.id} to register`,
      async () => {
        if (worker.child.exitCode !== null) throw new Error(`trainer exited:\n${worker.output()}`);
        const { workers } = await hub.client.get<{ workers: { id: string }[] }>("/api/v1/workers");
        return workers.some((w) => w.id === worker.id);
      },
      60_000,
    );
  } catch (error) {
    await worker.stop("SIGKILL");
    throw new Error(`${(error as Error).message}\n${worker.output()}`);
  }
  return {
    ...worker,
    async stop(signal?: NodeJS.Signals) {
      await worker.stop(signal);
      if (!options.dataDir) await rm(worker.dataDir, { recursive: true, force: true });
    },
  };
}

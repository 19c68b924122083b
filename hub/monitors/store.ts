/** The drift monitoring repositories over one database (kept apart from `Repositories`). */
import type { Db } from "../db/database.js";
import type { RepoOptions } from "../repos/clock.js";
import { type DriftDataRepo, driftDataRepo } from "../repos/drift-data.js";
import { type MonitorRepo, monitorRepo } from "../repos/monitors.js";
import { type RetrainingRepo, retrainingRepo } from "../repos/retraining.js";

export interface DriftStore {
  monitors: MonitorRepo;
  data: DriftDataRepo;
  retraining: RetrainingRepo;
}

/** Every drift repository bound to `db`. */
export function createDriftStore(db: Db, options?: RepoOptions): DriftStore {
  return {
    monitors: monitorRepo(db, options),
    data: driftDataRepo(db),
    retraining: retrainingRepo(db, options),
  };
}

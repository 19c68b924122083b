/** All repositories over one database, for the hub's composition root. */
import type { Db } from "../db/database.js";
import type { RepoOptions } from "./clock.js";
import { type DeploymentRepo, deploymentRepo } from "./deployments.js";
import { type DeviceRepo, deviceRepo } from "./devices.js";
import { type EventRepo, eventRepo } from "./events.js";
import { type ModelRepo, modelRepo } from "./models.js";
import { type ModuleRepo, moduleRepo } from "./modules.js";
import { type TelemetryRepo, telemetryRepo } from "./telemetry.js";
import { type TokenRepo, tokenRepo } from "./tokens.js";

export type { RepoOptions } from "./clock.js";
export * from "./deployments.js";
export * from "./devices.js";
export * from "./errors.js";
export * from "./events.js";
export * from "./models.js";
export * from "./modules.js";
export * from "./paging.js";
export * from "./telemetry.js";
export * from "./telemetry-writer.js";
export * from "./tokens.js";

export interface Repositories {
  tokens: TokenRepo;
  devices: DeviceRepo;
  models: ModelRepo;
  modules: ModuleRepo;
  deployments: DeploymentRepo;
  telemetry: TelemetryRepo;
  events: EventRepo;
}

/** Every repository bound to `db` (the TelemetryWriter is separate: it owns a timer). */
export function createRepositories(db: Db, options?: RepoOptions): Repositories {
  return {
    tokens: tokenRepo(db, options),
    devices: deviceRepo(db, options),
    models: modelRepo(db, options),
    modules: moduleRepo(db, options),
    deployments: deploymentRepo(db, options),
    telemetry: telemetryRepo(db),
    events: eventRepo(db),
  };
}

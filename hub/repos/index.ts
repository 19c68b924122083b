/** All repositories over one database, for the hub's composition root. */
import type { Db } from "../db/database.js";
import { type AttemptTokenRepo, attemptTokenRepo } from "./attempt-tokens.js";
import { type AuditRepo, auditRepo } from "./audit.js";
import { type ChangeMarkRepo, changeMarkRepo } from "./change-marks.js";
import type { RepoOptions } from "./clock.js";
import { type DatasetRepo, datasetRepo } from "./datasets.js";
import { type DeploymentRepo, deploymentRepo } from "./deployments.js";
import { type DeviceRepo, deviceRepo } from "./devices.js";
import { type EventRepo, eventRepo } from "./events.js";
import { type FleetViewRepo, fleetViewRepo } from "./fleet-view.js";
import { type IdempotencyRepo, idempotencyRepo } from "./idempotency.js";
import { type ModelRepo, modelRepo } from "./models.js";
import { type ModuleRepo, moduleRepo } from "./modules.js";
import { type PipelineRepo, pipelineRepo } from "./pipelines.js";
import { type RunRepo, runRepo } from "./runs.js";
import { type TelemetryRepo, telemetryRepo } from "./telemetry.js";
import { type TokenRepo, tokenRepo } from "./tokens.js";
import { type WorkerRepo, workerRepo } from "./workers.js";

export * from "./attempt-tokens.js";
export * from "./audit.js";
export * from "./change-marks.js";
export type { RepoOptions } from "./clock.js";
export * from "./datasets.js";
export * from "./deployments.js";
export * from "./devices.js";
export * from "./errors.js";
export * from "./events.js";
export * from "./fleet-view.js";
export * from "./idempotency.js";
export * from "./models.js";
export * from "./modules.js";
export * from "./paging.js";
export * from "./pipelines.js";
export * from "./runs.js";
export * from "./telemetry.js";
export * from "./telemetry-writer.js";
export * from "./tokens.js";
export * from "./workers.js";

export interface Repositories {
  audit: AuditRepo;
  tokens: TokenRepo;
  /** The per-attempt tokens handed to script jobs, and the inputs they (and trainers) may read. */
  attemptTokens: AttemptTokenRepo;
  devices: DeviceRepo;
  models: ModelRepo;
  modules: ModuleRepo;
  deployments: DeploymentRepo;
  telemetry: TelemetryRepo;
  events: EventRepo;
  datasets: DatasetRepo;
  runs: RunRepo;
  /** Pipeline runs and their steps (hub/pipelines). */
  pipelines: PipelineRepo;
  workers: WorkerRepo;
  /** Idempotency keys of creating POSTs and their stored answers. */
  idempotency: IdempotencyRepo;
  /** The console's paged, filtered fleet and its summary counts. */
  fleetView: FleetViewRepo;
  /** Fingerprints of what the console shows, for its live stream. */
  changeMarks: ChangeMarkRepo;
}

/** Every repository bound to `db` (the TelemetryWriter is separate: it owns a timer). */
export function createRepositories(db: Db, options?: RepoOptions): Repositories {
  return {
    audit: auditRepo(db, options),
    tokens: tokenRepo(db, options),
    attemptTokens: attemptTokenRepo(db, options),
    devices: deviceRepo(db, options),
    models: modelRepo(db, options),
    modules: moduleRepo(db, options),
    deployments: deploymentRepo(db, options),
    telemetry: telemetryRepo(db),
    events: eventRepo(db),
    datasets: datasetRepo(db, options),
    runs: runRepo(db, options),
    pipelines: pipelineRepo(db, options),
    workers: workerRepo(db, options),
    idempotency: idempotencyRepo(db, options),
    fleetView: fleetViewRepo(db),
    changeMarks: changeMarkRepo(db),
  };
}

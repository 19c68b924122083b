/** Everything a running hub's routes and services share, built once by startHub. */
import type { Logger } from "../lib/log.js";
import type { BlobStore } from "./blobs/blob-store.js";
import type { HubConfig } from "./config.js";
import type { Database } from "./db/database.js";
import type { JobService } from "./jobs/service.js";
import type { SigningKeys } from "./keys.js";
import type { DriftMonitoring } from "./monitors/index.js";
import type { HubLink } from "./mqtt/hub-link.js";
import type { Repositories, TelemetryWriter } from "./repos/index.js";
import type { RolloutController } from "./rollouts/controller.js";

export interface HubContext {
  version: string;
  config: HubConfig;
  log: Logger;
  database: Database;
  repos: Repositories;
  blobs: BlobStore;
  telemetry: TelemetryWriter;
  signing: SigningKeys;
  link: HubLink;
  /** The rollout controller: deployments' waves, gates and device desired-state sync. */
  rollouts: RolloutController;
  /** Training runs: submission, worker claims and leases, completion checks, run events. */
  jobs: JobService;
  /** Drift monitors, alerts and the retraining loop (hub/monitors, hub/retraining). */
  drift: DriftMonitoring;
  /** Addresses devices use to reach this hub (HTTP API and broker). */
  urls: { api: string; mqtt: string };
}

/** What every route module of the scoring server is built from. */
import type { Logger } from "../../lib/log.js";
import type { ServingTable } from "../runtime/serving-table.js";
import type { TelemetryRecorder } from "../telemetry/recorder.js";

export interface ScoringDeps {
  table: ServingTable;
  recorder: TelemetryRecorder;
  log: Logger;
  /** Reported as the server version in OIP server metadata. */
  agentVersion: string;
}

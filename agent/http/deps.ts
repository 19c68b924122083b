/** What every route module of the scoring server is built from. */
import type { Registry } from "prom-client";
import type { Logger } from "../../lib/log.js";
import type { DriftMonitor } from "../drift/drift-monitor.js";
import type { EventInput } from "../mqtt-link.js";
import type { InferenceRuntime } from "../runtime/inference-runtime.js";
import type { PredictionLog } from "../runtime/prediction-log.js";
import type { ServingTable } from "../runtime/serving-table.js";
import type { ShadowScorer } from "../shadow/shadow-scorer.js";
import type { TelemetryRecorder } from "../telemetry/recorder.js";

export interface ScoringDeps {
  table: ServingTable;
  recorder: TelemetryRecorder;
  log: Logger;
  /** Reported as the server version in OIP server metadata. */
  agentVersion: string;
  /** Recent predictions for feedback and live listeners; the app makes one when absent. */
  predictions?: PredictionLog;
  /** Sends a device event to the hub (feedback); without it events stay local. */
  emitEvent?: (event: EventInput) => void;
  /** Whose run and worker events feed /metrics; the process's default runtime when absent. */
  runtime?: InferenceRuntime;
  /** Drift summaries and samples of monitored modules (agent/drift/); absent: none are kept. */
  drift?: DriftMonitor;
  /** Candidate versions scoring copies of requests beside the serving ones (agent/shadow/); absent: none. */
  shadow?: ShadowScorer;
  /** Adds series owned elsewhere (the telemetry spool) to the /metrics registry. */
  registerMetrics?: (registry: Registry) => void;
}

/** What a retraining cycle has produced so far: the cycle's persisted `state` column. */
import type { TransientCount } from "./retry.js";

export interface CycleState {
  requestId?: string;
  requestedAt?: string;
  devices?: string[];
  model?: string;
  champion?: number;
  runId?: string;
  extraRows?: { blob: string; rows: number };
  challenger?: number;
  scores?: { champion: unknown; challenger: unknown; holdout: number; margin: number };
  moduleVersion?: string;
  deploymentId?: string;
  /** Transient failures of the step of `status` so far (retry.ts); null once it succeeded again. */
  transient?: TransientCount | null;
}

/** API shapes of runs, attempts and workers (dates as ISO strings, absent fields left out). */

import type { AttemptStatus, JobKind, RunStatus, WorkerCapabilities } from "../../hub-api/training.js";
import type { RunError } from "../db/schema/index.js";
import type { AttemptRow, RunRow, RunWithAttempts } from "../repos/runs.js";
import type { WorkerRow } from "../repos/workers.js";

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : undefined);

/** A run's latest progress report (kept in memory by the job service), with the attempt that sent it. */
export type RunProgress = Record<string, unknown>;

/** One attempt: a worker's lease on a run. */
export type AttemptView = {
  n: number;
  workerId: string;
  status: AttemptStatus;
  leaseExpiresAt?: string | undefined;
  startedAt?: string | undefined;
  finishedAt?: string | undefined;
  error?: RunError | undefined;
};

/** A run as the API shows it (type aliases, not interfaces: events carry them as plain records). */
export type RunView = {
  id: string;
  experiment: string;
  status: RunStatus;
  kind: JobKind;
  spec: Record<string, unknown>;
  attempts: AttemptView[];
  attempt: number;
  maxAttempts: number;
  metrics: Record<string, unknown>;
  outputs: Record<string, unknown>;
  error?: RunError | undefined;
  progress?: RunProgress | undefined;
  createdAt?: string | undefined;
  startedAt?: string | undefined;
  finishedAt?: string | undefined;
  durationMs?: number | undefined;
};

/** The compact run state carried by `status` events. */
export type RunStatusEvent = {
  id: string;
  status: RunStatus;
  attempt: number;
  error?: RunError | undefined;
  metrics: Record<string, unknown>;
  outputs: Record<string, unknown>;
};

/** A trainer worker as the API shows it. */
export type WorkerView = {
  id: string;
  name: string;
  capabilities: WorkerCapabilities;
  status: "offline" | "busy" | "idle";
  lastSeenAt?: string | undefined;
  currentRun?: string | undefined;
};

/** JSON-ready: fields that are undefined are left out (so a view never carries `"error": null`). */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as T;
}

/** One attempt's API shape. */
export function attemptView(a: AttemptRow): AttemptView {
  return defined({
    n: a.n,
    workerId: a.workerId,
    status: a.status,
    leaseExpiresAt: iso(a.leaseExpiresAt),
    startedAt: iso(a.startedAt),
    finishedAt: iso(a.finishedAt),
    error: a.error ?? undefined,
  });
}

/** A run's API shape, with the latest progress report when one is known. */
export function runView(run: RunWithAttempts, progress?: RunProgress): RunView {
  return defined({
    id: run.id,
    experiment: run.experiment,
    status: run.status,
    kind: run.kind,
    spec: run.spec,
    attempts: run.attempts.map(attemptView),
    attempt: run.attempt,
    maxAttempts: run.maxAttempts,
    metrics: run.metrics,
    outputs: run.outputs,
    error: run.error ?? undefined,
    progress,
    createdAt: iso(run.createdAt),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    durationMs:
      run.startedAt && run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : undefined,
  });
}

/** The compact run state carried by `status` events. */
export function statusEvent(run: RunRow): RunStatusEvent {
  return defined({
    id: run.id,
    status: run.status,
    attempt: run.attempt,
    error: run.error ?? undefined,
    metrics: run.metrics,
    outputs: run.outputs,
  });
}

/** A worker's API shape: offline after three missed heartbeats, busy while it holds a run. */
export function workerView(
  worker: WorkerRow,
  options: { now: Date; heartbeatMs: number; currentRun?: string | undefined },
): WorkerView {
  const offline = options.now.getTime() - worker.lastSeenAt.getTime() > 3 * options.heartbeatMs;
  return defined({
    id: worker.id,
    name: worker.name,
    capabilities: worker.capabilities,
    status: offline ? "offline" : options.currentRun ? "busy" : "idle",
    lastSeenAt: iso(worker.lastSeenAt),
    currentRun: options.currentRun,
  });
}

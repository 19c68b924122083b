/** API shapes of runs, attempts and workers (dates as ISO strings, absent fields left out). */

import type { AttemptRow, RunRow, RunWithAttempts } from "../repos/runs.js";
import type { WorkerRow } from "../repos/workers.js";

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : undefined);

/** JSON-ready: fields that are undefined or null are left out. */
export type View = Record<string, unknown>;

function defined(value: Record<string, unknown>): View {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null));
}

export function attemptView(a: AttemptRow): View {
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

export function runView(run: RunWithAttempts, progress?: Record<string, unknown>): View {
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
export function statusEvent(run: RunRow): View {
  return defined({
    id: run.id,
    status: run.status,
    attempt: run.attempt,
    error: run.error ?? undefined,
    metrics: run.metrics,
    outputs: run.outputs,
  });
}

export function workerView(
  worker: WorkerRow,
  options: { now: Date; heartbeatMs: number; currentRun?: string | undefined },
): View {
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

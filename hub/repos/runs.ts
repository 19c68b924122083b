/**
 * Training runs and their attempts. Every state change is one transaction guarded by the state it
 * expects (`WHERE status = 'queued'`, `WHERE status = 'running'`), so two workers or two hub
 * replicas never both claim a run, and a late call from a worker whose lease was taken away
 * changes nothing (LeaseLostError). Lease semantics: hub/jobs/README.md.
 */
import { and, asc, count, desc, eq, gt, inArray, lt, max, sql } from "drizzle-orm";
import { LeaseLostError } from "../../lib/errors.js";
import type { Db, Tx } from "../db/database.js";
import {
  type AttemptStatus,
  type RunError,
  type RunStatus,
  runAttempts,
  runLogs,
  runMetrics,
  runs,
} from "../db/schema/index.js";
import { clockOf, type RepoOptions } from "./clock.js";
import { ConflictError, NotFoundError } from "./errors.js";
import {
  insertModelVersion,
  type ModelVersion,
  parseRegisterInput,
  type RegisterVersionInput,
} from "./models.js";
import { clampLimit } from "./paging.js";

export type RunRow = typeof runs.$inferSelect;
export type AttemptRow = typeof runAttempts.$inferSelect;
export { LeaseLostError };

export type RunWithAttempts = RunRow & { attempts: AttemptRow[] };
export type LogLine = typeof runLogs.$inferSelect;
export type MetricPoint = typeof runMetrics.$inferSelect;

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ["succeeded", "failed", "cancelled"];

/** The lease_lost error of an attempt that is no longer the run's current running one. */
export function leaseLost(runId: string, attempt: number): LeaseLostError {
  return new LeaseLostError(
    `run ${runId} attempt ${attempt} is no longer running here (lease lost, cancelled or finished)`,
    { runId, attempt },
  );
}

export interface CreateRunInput {
  id: string;
  experiment: string;
  spec: Record<string, unknown>;
  kind: "builtin" | "script";
  maxAttempts: number;
}

/** How an attempt ended, as the worker (or the hub's evaluation) reports it. */
export type AttemptOutcome =
  | { status: "succeeded"; metrics: Record<string, unknown>; outputs: Record<string, unknown> }
  | { status: "failed"; error: RunError; retryable: boolean }
  | { status: "cancelled" };

/** A run whose state the sweeper or a finish changed, for events. */
export interface RunTransition {
  run: RunRow;
  attempt: AttemptRow;
}

export interface RunRepo {
  create(input: CreateRunInput): Promise<RunWithAttempts>;
  get(id: string): Promise<RunWithAttempts | null>;
  list(filter?: { experiment?: string; status?: RunStatus; limit?: number }): Promise<RunWithAttempts[]>;
  /** Runs submitted by a retraining cycle (`spec.trigger.cycleId`), oldest first. */
  byCycle(cycleId: string): Promise<RunRow[]>;
  /** Experiments (distinct run experiment names) with run counts and the last run's time. */
  experiments(): Promise<{ name: string; runs: number; lastRunAt: Date }[]>;
  /** Every succeeded run's experiment and metrics (for each experiment's best run). */
  succeeded(): Promise<Pick<RunRow, "id" | "experiment" | "metrics">[]>;
  /** Queued runs, oldest first, that workers of these kinds may take. */
  queued(kinds: readonly ("builtin" | "script")[], limit?: number): Promise<RunRow[]>;
  /**
   * Takes a queued run for a worker: a new attempt with a lease (and the sha256 of the attempt's
   * own token, when given). Null when another claim took it first (the run is no longer queued).
   */
  claim(runId: string, workerId: string, leaseMs: number, tokenHash?: string): Promise<RunTransition | null>;
  /** Extends the leases of the given attempts that are still current and running on this worker. */
  extendLeases(
    workerId: string,
    attempts: { runId: string; attempt: number }[],
    leaseMs: number,
  ): Promise<void>;
  /** The attempt, when it is the run's current one and still running; else LeaseLostError. */
  assertCurrent(runId: string, attempt: number): Promise<{ run: RunRow; attempt: AttemptRow }>;
  /** Ends the current attempt and moves the run on (requeue, fail, succeed or cancel). */
  finishAttempt(runId: string, attempt: number, outcome: AttemptOutcome): Promise<RunTransition>;
  /**
   * Ends the current attempt `succeeded` and registers its model in one transaction: the next
   * version, its aliases, and the run's metrics and outputs (`outcome` gets the new version to name
   * it). All or nothing: when any step fails (or the attempt is no longer current:
   * LeaseLostError), no version exists and the attempt is still running.
   */
  succeedWithModel(
    runId: string,
    attempt: number,
    model: RegisterVersionInput,
    outcome: (version: ModelVersion) => {
      metrics: Record<string, unknown>;
      outputs: Record<string, unknown>;
    },
  ): Promise<RunTransition & { version: ModelVersion }>;
  /** queued → cancelled; running → cancelling; cancelling stays; a finished run → ConflictError. */
  cancel(id: string): Promise<RunRow>;
  /** Marks running attempts whose lease expired `lost` and requeues (or fails) their runs. */
  sweepExpired(): Promise<RunTransition[]>;
  /** Runs whose current attempt runs on a worker, with their status (for heartbeats and listings). */
  runningOn(workerIds?: readonly string[]): Promise<{ workerId: string; runId: string; attempt: number }[]>;
  appendLogs(
    runId: string,
    attempt: number,
    lines: { stream: LogLine["stream"]; text: string; at?: Date }[],
  ): Promise<LogLine[]>;
  logs(runId: string, options?: { after?: number; limit?: number }): Promise<LogLine[]>;
  appendMetrics(
    runId: string,
    attempt: number,
    points: { name: string; value: number; step: number; at?: Date }[],
  ): Promise<MetricPoint[]>;
  metrics(runId: string): Promise<MetricPoint[]>;
}

/** Run repository over a database. */
export function runRepo(db: Db, options?: RepoOptions): RunRepo {
  const now = clockOf(options);

  async function withAttempts(rows: RunRow[]): Promise<RunWithAttempts[]> {
    if (rows.length === 0) return [];
    const attempts = await db
      .select()
      .from(runAttempts)
      .where(
        inArray(
          runAttempts.runId,
          rows.map((r) => r.id),
        ),
      )
      .orderBy(asc(runAttempts.n));
    const byRun = new Map<string, AttemptRow[]>();
    for (const a of attempts) byRun.set(a.runId, [...(byRun.get(a.runId) ?? []), a]);
    return rows.map((r) => ({ ...r, attempts: byRun.get(r.id) ?? [] }));
  }

  /** Locks and returns the run and its current attempt, or throws LeaseLostError. */
  async function lockCurrent(tx: Tx, runId: string, n: number) {
    const [run] = await tx.select().from(runs).where(eq(runs.id, runId)).for("update");
    if (!run) throw new NotFoundError("run", runId);
    const [attempt] = await tx
      .select()
      .from(runAttempts)
      .where(and(eq(runAttempts.runId, runId), eq(runAttempts.n, n)));
    if (
      !attempt ||
      run.attempt !== n ||
      attempt.status !== "running" ||
      (run.status !== "running" && run.status !== "cancelling")
    ) {
      throw leaseLost(runId, n);
    }
    return { run, attempt };
  }

  /** The run's next state when its attempt ends without success. */
  function afterFailure(run: RunRow, retryable: boolean): RunStatus {
    if (run.status === "cancelling") return "cancelled";
    return retryable && run.attempt < run.maxAttempts ? "queued" : "failed";
  }

  async function endAttempt(
    tx: Tx,
    run: RunRow,
    attempt: AttemptRow,
    status: AttemptStatus,
    next: RunStatus,
    patch: { error?: RunError | null; metrics?: Record<string, unknown>; outputs?: Record<string, unknown> },
  ): Promise<RunTransition> {
    const at = now();
    const [ended] = await tx
      .update(runAttempts)
      // The attempt's token dies with it (its lookup also checks the status and lease).
      .set({
        status,
        finishedAt: at,
        error: status === "succeeded" ? null : (patch.error ?? null),
        tokenHash: null,
      })
      .where(and(eq(runAttempts.runId, run.id), eq(runAttempts.n, attempt.n)))
      .returning();
    const terminal = TERMINAL_RUN_STATUSES.includes(next);
    const [updated] = await tx
      .update(runs)
      .set({
        status: next,
        finishedAt: terminal ? at : null,
        error: next === "failed" ? (patch.error ?? null) : next === "queued" ? run.error : null,
        ...(patch.metrics !== undefined ? { metrics: patch.metrics } : {}),
        ...(patch.outputs !== undefined ? { outputs: patch.outputs } : {}),
      })
      .where(eq(runs.id, run.id))
      .returning();
    return { run: updated!, attempt: ended! };
  }

  return {
    async create(input) {
      const [row] = await db
        .insert(runs)
        .values({ ...input, status: "queued", createdAt: now() })
        .returning();
      return { ...row!, attempts: [] };
    },

    async get(id) {
      const [row] = await db.select().from(runs).where(eq(runs.id, id));
      return row ? (await withAttempts([row]))[0]! : null;
    },

    async list(filter = {}) {
      const rows = await db
        .select()
        .from(runs)
        .where(
          and(
            filter.experiment !== undefined ? eq(runs.experiment, filter.experiment) : undefined,
            filter.status !== undefined ? eq(runs.status, filter.status) : undefined,
          ),
        )
        .orderBy(desc(runs.createdAt), desc(runs.id))
        .limit(clampLimit(filter.limit));
      return withAttempts(rows);
    },

    byCycle: (cycleId) =>
      db
        .select()
        .from(runs)
        .where(sql`${runs.spec}->'trigger'->>'cycleId' = ${cycleId}`)
        .orderBy(asc(runs.createdAt), asc(runs.id)),

    async experiments() {
      const rows = await db
        .select({ name: runs.experiment, runs: count(runs.id), lastRunAt: max(runs.createdAt) })
        .from(runs)
        .groupBy(runs.experiment)
        .orderBy(asc(runs.experiment));
      return rows.map((r) => ({ name: r.name, runs: r.runs, lastRunAt: r.lastRunAt! }));
    },

    succeeded: () =>
      db
        .select({ id: runs.id, experiment: runs.experiment, metrics: runs.metrics })
        .from(runs)
        .where(eq(runs.status, "succeeded")),

    queued: (kinds, limit = 50) =>
      kinds.length === 0
        ? Promise.resolve([])
        : db
            .select()
            .from(runs)
            .where(and(eq(runs.status, "queued"), inArray(runs.kind, [...kinds])))
            .orderBy(asc(runs.createdAt), asc(runs.id))
            .limit(limit),

    async claim(runId, workerId, leaseMs, tokenHash) {
      return db.transaction(async (tx) => {
        const at = now();
        // The status guard is the whole exclusivity story: only one UPDATE finds the run queued.
        const [run] = await tx
          .update(runs)
          .set({
            status: "running",
            attempt: sql`${runs.attempt} + 1`,
            startedAt: sql`coalesce(${runs.startedAt}, ${at.toISOString()}::timestamptz)`,
          })
          .where(and(eq(runs.id, runId), eq(runs.status, "queued")))
          .returning();
        if (!run) return null;
        const [attempt] = await tx
          .insert(runAttempts)
          .values({
            runId,
            n: run.attempt,
            workerId,
            status: "running",
            leaseExpiresAt: new Date(at.getTime() + leaseMs),
            startedAt: at,
            tokenHash: tokenHash ?? null,
          })
          .returning();
        return { run, attempt: attempt! };
      });
    },

    async extendLeases(workerId, attempts, leaseMs) {
      if (attempts.length === 0) return;
      const until = new Date(now().getTime() + leaseMs);
      for (const { runId, attempt } of attempts) {
        await db
          .update(runAttempts)
          .set({ leaseExpiresAt: until })
          .where(
            and(
              eq(runAttempts.runId, runId),
              eq(runAttempts.n, attempt),
              eq(runAttempts.workerId, workerId),
              eq(runAttempts.status, "running"),
            ),
          );
      }
    },

    assertCurrent: (runId, attempt) => db.transaction((tx) => lockCurrent(tx, runId, attempt)),

    finishAttempt(runId, n, outcome) {
      return db.transaction(async (tx) => {
        const { run, attempt } = await lockCurrent(tx, runId, n);
        if (outcome.status === "succeeded") {
          return endAttempt(tx, run, attempt, "succeeded", "succeeded", {
            metrics: outcome.metrics,
            outputs: outcome.outputs,
          });
        }
        if (outcome.status === "cancelled") {
          return endAttempt(tx, run, attempt, "cancelled", "cancelled", {});
        }
        return endAttempt(tx, run, attempt, "failed", afterFailure(run, outcome.retryable), {
          error: outcome.error,
        });
      });
    },

    async succeedWithModel(runId, n, model, outcome) {
      const value = parseRegisterInput(model);
      return db.transaction(async (tx) => {
        // The run's row first, then the model's (insertModelVersion): no other path takes both.
        const { run, attempt } = await lockCurrent(tx, runId, n);
        const version = await insertModelVersion(tx, value, now());
        const transition = await endAttempt(tx, run, attempt, "succeeded", "succeeded", outcome(version));
        return { ...transition, version };
      });
    },

    async cancel(id) {
      return db.transaction(async (tx) => {
        const [run] = await tx.select().from(runs).where(eq(runs.id, id)).for("update");
        if (!run) throw new NotFoundError("run", id);
        if (TERMINAL_RUN_STATUSES.includes(run.status)) {
          throw new ConflictError("run", id, `run ${id} already ${run.status}`);
        }
        if (run.status === "cancelling") return run;
        const [updated] = await tx
          .update(runs)
          .set(
            run.status === "queued" ? { status: "cancelled", finishedAt: now() } : { status: "cancelling" },
          )
          .where(eq(runs.id, id))
          .returning();
        return updated!;
      });
    },

    async sweepExpired() {
      const expired = await db
        .select()
        .from(runAttempts)
        .where(and(eq(runAttempts.status, "running"), lt(runAttempts.leaseExpiresAt, now())));
      const changed: RunTransition[] = [];
      for (const candidate of expired) {
        const transition = await db.transaction(async (tx) => {
          const [run] = await tx.select().from(runs).where(eq(runs.id, candidate.runId)).for("update");
          const [attempt] = await tx
            .select()
            .from(runAttempts)
            .where(and(eq(runAttempts.runId, candidate.runId), eq(runAttempts.n, candidate.n)));
          // Re-checked under the lock: a heartbeat or a finish may have come in meanwhile.
          if (!run || !attempt || attempt.status !== "running" || attempt.leaseExpiresAt >= now())
            return null;
          const error: RunError = {
            code: "lost",
            message: `worker ${attempt.workerId} stopped renewing its lease (attempt ${attempt.n})`,
          };
          if (run.attempt !== attempt.n) {
            const [ended] = await tx
              .update(runAttempts)
              .set({ status: "lost", finishedAt: now(), error, tokenHash: null })
              .where(and(eq(runAttempts.runId, run.id), eq(runAttempts.n, attempt.n)))
              .returning();
            return { run, attempt: ended! };
          }
          const next = afterFailure(run, true);
          const final: RunError =
            next === "failed"
              ? { code: "lost", message: `${error.message}; no attempts left (${run.maxAttempts})` }
              : error;
          return endAttempt(tx, run, attempt, "lost", next, { error: final });
        });
        if (transition) changed.push(transition);
      }
      return changed;
    },

    async runningOn(workerIds) {
      const rows = await db
        .select({ workerId: runAttempts.workerId, runId: runAttempts.runId, attempt: runAttempts.n })
        .from(runAttempts)
        .where(
          and(
            eq(runAttempts.status, "running"),
            workerIds !== undefined ? inArray(runAttempts.workerId, [...workerIds]) : undefined,
          ),
        );
      return rows;
    },

    async appendLogs(runId, attempt, lines) {
      if (lines.length === 0) return [];
      const at = now();
      return db
        .insert(runLogs)
        .values(lines.map((l) => ({ runId, attempt, stream: l.stream, text: l.text, at: l.at ?? at })))
        .returning();
    },

    logs: (runId, { after, limit } = {}) =>
      db
        .select()
        .from(runLogs)
        .where(and(eq(runLogs.runId, runId), after !== undefined ? gt(runLogs.seq, after) : undefined))
        .orderBy(asc(runLogs.seq))
        .limit(clampLimit(limit, 1000)),

    async appendMetrics(runId, attempt, points) {
      if (points.length === 0) return [];
      const at = now();
      return db
        .insert(runMetrics)
        .values(
          points.map((p) => ({ runId, attempt, name: p.name, step: p.step, value: p.value, at: p.at ?? at })),
        )
        .returning();
    },

    metrics: (runId) =>
      db
        .select()
        .from(runMetrics)
        .where(eq(runMetrics.runId, runId))
        .orderBy(asc(runMetrics.name), asc(runMetrics.step), asc(runMetrics.id)),
  };
}

/**
 * The reconcile worker. Desired-state messages only enqueue (`submit`); one worker takes the latest
 * desired state, plans against the current state and runs the plan. Every run carries a generation
 * number: a newer revision arriving mid-run bumps it and aborts the run's signal, so the old run
 * stops between commands and its late results are dropped. Failed versions are recorded with a
 * back-off; a timer re-enqueues the latest desired state when the earliest back-off expires.
 */
import type { Logger } from "../../lib/log.js";
import type { DesiredState } from "../../wire/messages.js";
import { type CurrentState, type FailedAttempt, type Plan, plan } from "./plan.js";
import type { Reporter } from "./reporter.js";
import { type ReconcileEffects, type RetryPolicy, type RunResult, runPlan } from "./runner.js";

/** Back-off between whole attempts at a version that failed transiently: 30 s doubling up to 1 h. */
export const MODULE_BACKOFF = { baseMs: 30_000, maxMs: 3_600_000 } as const;

/** Back-off between runs that crashed (e.g. a state write failed): 1 s doubling up to 5 min. */
export const CRASH_BACKOFF = { baseMs: 1_000, maxMs: 300_000 } as const;

/** Delay before attempt `attempts + 1` of a version that failed transiently. */
export function moduleBackoffMs(
  attempts: number,
  backoff: { baseMs: number; maxMs: number } = MODULE_BACKOFF,
): number {
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempts - 1));
}

/** Where the reconciler reads and writes what the device has. */
export interface ReconcileState {
  current(): Promise<CurrentState>;
  setRevision(revision: number): Promise<void>;
  recordFailure(failure: FailedAttempt): Promise<void>;
  retainFailures(keep: (failure: FailedAttempt) => boolean): Promise<void>;
}

export interface ReconcilerOptions {
  effects: ReconcileEffects;
  state: ReconcileState;
  reporter: Reporter;
  log: Logger;
  now?: () => number;
  retry?: RetryPolicy;
  backoff?: { baseMs: number; maxMs: number };
  /** Back-off between runs that crashed (CRASH_BACKOFF by default; tests shorten it). */
  crashBackoff?: { baseMs: number; maxMs: number };
  emit?: (event: { kind: string; module?: string; version?: string; message: string }) => void;
  /** Called after every finished (not superseded) run; for tests and metrics. */
  onRun?: (result: RunResult, plan: Plan) => void;
}

/** Single-worker reconcile loop with supersede-by-generation. */
export class Reconciler {
  #latest: DesiredState | undefined;
  #pending = false;
  #running: { revision: number; controller: AbortController } | undefined;
  #generation = 0;
  #worker: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Runs in a row that crashed (a state write failing on a full or read-only disk, mostly). */
  #crashes = 0;
  #crashTimer: NodeJS.Timeout | undefined;
  readonly #now: () => number;

  constructor(private readonly options: ReconcilerOptions) {
    this.#now = options.now ?? Date.now;
  }

  /** The generation of the latest accepted desired state (grows by one per accepted submit). */
  get generation(): number {
    return this.#generation;
  }

  /** Enqueues a desired state; a newer revision supersedes a run in progress. Never throws. */
  submit(desired: DesiredState): void {
    if (this.#stopped) return;
    const known = Math.max(this.#latest?.revision ?? -1, this.#running?.revision ?? -1);
    if (desired.revision < known) {
      this.options.log.info({ event: "desired.stale", revision: desired.revision, latest: known });
      this.options.emit?.({
        kind: "desired.stale",
        message: `ignored revision ${desired.revision} (have ${known})`,
      });
      return;
    }
    // The same revision again (a broker redelivery, a reconnect) does not interrupt its own run.
    if (desired.revision === this.#running?.revision && !this.#pending) return;
    if (desired.revision > (this.#running?.revision ?? -1)) this.#running?.controller.abort();
    this.#latest = desired;
    this.#generation++;
    this.#kick();
  }

  /** Resolves when no run is in progress and nothing is queued. */
  async idle(): Promise<void> {
    while (this.#worker) await this.#worker;
  }

  /** Aborts the current run, cancels retry timers and waits for the worker to stop. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#crashTimer);
    this.#running?.controller.abort();
    await this.idle();
  }

  #kick(): void {
    this.#pending = true;
    this.#worker ??= this.#work().finally(() => {
      this.#worker = undefined;
    });
  }

  async #work(): Promise<void> {
    while (this.#pending && !this.#stopped && this.#latest) {
      this.#pending = false;
      const desired = this.#latest;
      const generation = this.#generation;
      const controller = new AbortController();
      this.#running = { revision: desired.revision, controller };
      try {
        await this.#reconcile(desired, generation, controller);
        this.#crashes = 0;
      } catch (error) {
        // A bug or an unexpected I/O error (a state write on a full or read-only disk) must not
        // kill the worker, nor wait for the hub's next message: the same desired state is tried
        // again with back-off until the disk recovers.
        this.#crashes++;
        const delayMs = moduleBackoffMs(this.#crashes, this.options.crashBackoff ?? CRASH_BACKOFF);
        this.options.log.error({
          event: "reconcile.crashed",
          revision: desired.revision,
          retryInMs: delayMs,
          err: error,
        });
        this.#scheduleCrashRetry(delayMs);
      } finally {
        this.#running = undefined;
      }
    }
  }

  async #reconcile(desired: DesiredState, generation: number, controller: AbortController): Promise<void> {
    const { state, reporter, log } = this.options;
    const current = await state.current();
    const planned = plan(desired, current, { now: this.#now() });
    if (planned.stale) {
      log.info({ event: "desired.stale", revision: desired.revision, applied: current.appliedRevision });
      this.options.emit?.({
        kind: "desired.stale",
        message: `ignored revision ${desired.revision} (applied ${current.appliedRevision})`,
      });
      return;
    }
    log.info({
      event: "reconcile.start",
      revision: desired.revision,
      generation,
      added: planned.diff.added.length,
      updated: planned.diff.updated.length,
      removed: planned.diff.removed.length,
      unchanged: planned.diff.unchanged.length,
      deferred: planned.deferred.length,
      commands: planned.commands.map((command) => command.kind),
    });
    const result = await runPlan(planned, {
      effects: this.options.effects,
      reporter,
      log,
      signal: controller.signal,
      ...(this.options.retry ? { retry: this.options.retry } : {}),
      ...(this.options.emit ? { emit: this.options.emit } : {}),
    });
    if (result.superseded || generation !== this.#generation) {
      log.info({ event: "reconcile.superseded", revision: desired.revision, generation });
      return;
    }
    const retryTimes = await this.#recordFailures(desired, current, result);
    await state.setRevision(desired.revision);
    reporter.setRevision(desired.revision);
    this.#scheduleRetry([...planned.deferred.map((d) => d.retryAt), ...retryTimes]);
    log.info({
      event: "reconcile.done",
      revision: desired.revision,
      outcomes: result.modules.map((m) => `${m.name}@${m.version}:${m.outcome}`),
    });
    this.options.onRun?.(result, planned);
  }

  /** Persists this run's failures; returns when the transient ones may be retried. */
  async #recordFailures(desired: DesiredState, current: CurrentState, result: RunResult): Promise<number[]> {
    const { state } = this.options;
    const retryTimes: number[] = [];
    for (const module of result.modules) {
      if (module.outcome === "succeeded" || module.outcome === "rejected" || module.sha256 === undefined)
        continue;
      const before = current.failures.find((f) => f.name === module.name && f.version === module.version);
      const attempts = (before?.attempts ?? 0) + 1;
      const permanent = module.permanent ?? true;
      const retryAt = permanent ? null : this.#now() + moduleBackoffMs(attempts, this.options.backoff);
      if (retryAt !== null) retryTimes.push(retryAt);
      await state.recordFailure({
        name: module.name,
        version: module.version,
        sha256: module.sha256,
        reason: module.error ?? "failed",
        permanent,
        attempts,
        retryAt,
        revision: desired.revision,
      });
    }
    const wanted = new Set(desired.modules.map((m) => `${m.name}@${m.version}@${m.sha256}`));
    await state.retainFailures((f) => wanted.has(`${f.name}@${f.version}@${f.sha256}`));
    return retryTimes;
  }

  #scheduleCrashRetry(delayMs: number): void {
    clearTimeout(this.#crashTimer);
    this.#crashTimer = setTimeout(() => {
      if (this.#latest && !this.#stopped) {
        this.#generation++;
        this.#kick();
      }
    }, delayMs);
    this.#crashTimer.unref();
  }

  /** Re-enqueues the latest desired state when the earliest transient back-off runs out. */
  #scheduleRetry(times: Array<number | null>): void {
    clearTimeout(this.#retryTimer);
    const next = Math.min(...times.filter((t): t is number => t !== null));
    if (!Number.isFinite(next)) return;
    this.#retryTimer = setTimeout(
      () => {
        if (this.#latest && !this.#stopped) {
          this.#generation++;
          this.#kick();
        }
      },
      Math.max(0, next - this.#now()),
    );
    this.#retryTimer.unref();
  }
}

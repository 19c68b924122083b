/**
 * The retraining driver, on the rollout controller's shape: one cycle per alarm of a monitor with
 * action retrain, stepped through
 *
 *   collecting  ask the cohort's devices for samples (collect-samples), wait for enough labelled ones
 *   training    a run on the dataset's latest version + the "train" half of the samples (extraRows)
 *   evaluating  challenger vs champion on the "holdout" half (compare.ts)
 *   packaging   a new patch version of the module, manifest built from the challenger (package.ts)
 *   deploying   a canary deployment through the deployments service (gates and rollback apply)
 *   canary      follow the deployment: once it completes, alias `champion` → challenger and the
 *               monitor follows the new version; rolled back or aborted, both stay where they were;
 *               partially applied (some devices not active), the canary is rolled back and the
 *               cycle ends failed
 *
 * Alarms, operator requests and the clock's ticks only queue a cycle id (a work queue of keys); a
 * worker re-reads the cycle, takes its lease, observes the facts its status needs (observe.ts),
 * asks the pure planner for the next action (plan.ts), and carries it out, persisting the step
 * only after its side effect (act.ts). A hub restart resumes each cycle where it stopped. A step
 * that returns a verdict ends the cycle failed; any other error is retried after a growing
 * backoff, up to a bound (retry.ts). Time and timers come from the injected clock. Hub replicas
 * sharing a database each run a driver; a worker steps only the cycles it holds a lease on
 * (renewed each pass, handed back on close), so one cycle is stepped by one driver at a time and
 * a crashed replica's cycles move on once its leases lapse.
 */
import { randomUUID } from "node:crypto";
import type { Clock, TimerHandle } from "../../lib/clock.js";
import type { Logger } from "../../lib/log.js";
import type { RetrainSettings } from "../db/schema/drift.js";
import type { DriftStore } from "../monitors/store.js";
import type { Monitor } from "../repos/monitors.js";
import { type CycleStatus, FINISHED_CYCLE_STATUSES, type RetrainingCycle } from "../repos/retraining.js";
import { WorkQueue } from "../rollouts/work-queue.js";
import { act } from "./act.js";
import {
  observeCanary,
  observeCohort,
  observeCollect,
  observeDeployment,
  observePackaging,
  observeRun,
  observeScores,
} from "./observe.js";
import {
  type Action,
  type PlannedCycle,
  planCanary,
  planCollect,
  planDeploy,
  planEvaluate,
  planPackage,
  planPreamble,
  planRequest,
  planTraining,
} from "./plan.js";
import type { RetrainingHub } from "./ports.js";
import {
  CycleFailure,
  DEFAULT_MAX_TRANSIENT_FAILURES,
  decideOnError,
  recoveryOf,
  retryBackoffMs,
  waitingToRetry,
} from "./retry.js";
import type { CycleState } from "./state.js";

export type { RetrainingHub } from "./ports.js";
export type { CycleState } from "./state.js";

export interface RetrainingDeps {
  hub: RetrainingHub;
  store: DriftStore;
  clock: Clock;
  log: Logger;
  /** POST /runs in process (the job service's submit). */
  submitRun(body: unknown): Promise<{ id: string }>;
  /** How often every open cycle is queued again (ms). Default 2000. */
  tickMs?: number;
  /** Transient failures of one step in a row that end a cycle failed. Default 5. */
  maxTransientFailures?: number;
  /** How long a pass's claim on a cycle lasts (ms); renewed each pass. Default max(60 s, 10 ticks). */
  leaseMs?: number;
}

/**
 * Cycles stepped at the same time. One, as before the queue: steps are short (the long waits —
 * labels, the run, the canary — are passes that find nothing to do), and scoring in onnxruntime
 * shares the hub's CPU with serving the API.
 */
const CONCURRENCY = 1;

/** Drives open retraining cycles. */
export class RetrainingDriver {
  readonly #deps: RetrainingDeps;
  readonly #tickMs: number;
  readonly #queue: WorkQueue;
  #timer: TimerHandle | undefined;
  #closed = false;
  /** This driver's identity in cycle leases: one per process, so replicas never share one. */
  readonly #owner = randomUUID();
  readonly #leaseMs: number;

  constructor(deps: RetrainingDeps) {
    this.#deps = deps;
    this.#tickMs = Math.max(10, deps.tickMs ?? 2_000);
    this.#leaseMs = deps.leaseMs ?? Math.max(60_000, 10 * this.#tickMs);
    this.#queue = new WorkQueue({
      concurrency: CONCURRENCY,
      work: (id) => this.#reconcile(id),
      onError: (id, error) => deps.log.error({ event: "retraining.pass_failed", cycleId: id, err: error }),
      retry: (id) => {
        deps.clock.setTimer(this.#tickMs, () => this.#queue.add(id));
      },
    });
  }

  start(): void {
    this.#arm();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#timer?.cancel();
    await this.#queue.close();
    // Hand the cycles over now rather than when the leases run out.
    await this.#deps.store.retraining
      .release(this.#owner)
      .catch((error: unknown) => this.#deps.log.warn({ event: "retraining.release_failed", err: error }));
  }

  /** Opens a cycle for a monitor's alarm (none when one is already open) and queues it. */
  async trigger(monitor: Monitor, alertId: string | null): Promise<RetrainingCycle | null> {
    const cycle = await this.#deps.store.retraining.start(monitor.id, alertId);
    if (!cycle) {
      this.#deps.log.info({ event: "retraining.already_open", monitorId: monitor.id });
      return null;
    }
    this.#deps.log.info({ event: "retraining.started", monitorId: monitor.id, cycleId: cycle.id });
    this.#queue.add(cycle.id);
    return cycle;
  }

  /** Queues every open cycle and resolves once a pass of each that started after this call is done. */
  async kick(): Promise<void> {
    const open = await this.#open();
    await Promise.all(open.map((cycle) => this.#queue.addAndWait(cycle.id)));
  }

  #arm(): void {
    if (this.#closed) return;
    this.#timer = this.#deps.clock.setTimer(this.#tickMs, () => {
      void this.#open()
        .then((open) => {
          for (const cycle of open) this.#queue.add(cycle.id);
        })
        .finally(() => this.#arm());
    });
  }

  async #open(): Promise<RetrainingCycle[]> {
    if (this.#closed) return [];
    try {
      return await this.#deps.store.retraining.open();
    } catch (error) {
      this.#deps.log.error({ event: "retraining.pass_failed", err: error });
      return [];
    }
  }

  /** One pass of one cycle: re-read, lease, step; errors decide between retry and failure. */
  async #reconcile(id: string): Promise<void> {
    if (this.#closed) return;
    const { store, clock, log } = this.#deps;
    const cycle = await store.retraining.get(id);
    if (!cycle || FINISHED_CYCLE_STATUSES.includes(cycle.status as CycleStatus)) return;
    if (waitingToRetry(cycle.status, (cycle.state as CycleState).transient, clock.now())) return;
    // Another hub replica steps this cycle while its lease runs (a crashed one's lapses).
    const mine = await store.retraining
      .claim(cycle.id, this.#owner, this.#leaseMs)
      .catch((error: unknown) => {
        log.warn({ event: "retraining.claim_failed", cycleId: cycle.id, err: error });
        return false;
      });
    if (!mine) return;
    try {
      await this.#step(cycle);
      await this.#recovered(cycle);
    } catch (error) {
      await this.#failed(cycle, error).catch((e: unknown) =>
        log.error({ event: "retraining.advance_failed", cycleId: cycle.id, err: e }),
      );
    }
  }

  async #step(cycle: RetrainingCycle): Promise<void> {
    const monitor = await this.#deps.store.monitors.get(cycle.monitorId);
    const preamble = planPreamble(cycle.status, monitor);
    if ("fail" in preamble) throw new CycleFailure(preamble.fail);
    const planned: PlannedCycle = { id: cycle.id, status: cycle.status, state: cycle.state as CycleState };
    const action = await this.#plan(planned, monitor!, preamble.settings);
    await act(
      this.#deps,
      { cycleId: cycle.id, state: planned.state, monitor: monitor!, settings: preamble.settings },
      action,
    );
  }

  /** Observes what the cycle's status needs and asks that status's step function. */
  async #plan(cycle: PlannedCycle, monitor: Monitor, settings: RetrainSettings | null): Promise<Action> {
    const deps = this.#deps;
    const { state } = cycle;
    if (cycle.status === "canary") return planCanary(cycle, monitor, await observeCanary(deps, state));
    const retrain = settings!;
    switch (cycle.status) {
      case "collecting":
        return state.requestedAt
          ? planCollect(
              cycle,
              monitor,
              retrain,
              await observeCollect(deps, cycle.id, monitor, retrain, state),
              deps.clock.now(),
            )
          : planRequest(cycle, monitor, retrain, await observeCohort(deps, monitor));
      case "training":
        return planTraining(state, await observeRun(deps, state));
      case "evaluating":
        return planEvaluate(retrain, await observeScores(deps, monitor, state));
      case "packaging":
        return planPackage(monitor, state, await observePackaging(deps, monitor, state));
      case "deploying":
        return planDeploy(monitor, retrain, state, await observeDeployment(deps, monitor, state));
      default:
        return { kind: "wait" };
    }
  }

  /** A step that threw: the cycle fails on a verdict, else the step is retried after a backoff. */
  async #failed(cycle: RetrainingCycle, error: unknown): Promise<void> {
    const { store, log, clock } = this.#deps;
    const decision = decideOnError(
      error,
      cycle.status,
      (cycle.state as CycleState).transient,
      this.#deps.maxTransientFailures ?? DEFAULT_MAX_TRANSIENT_FAILURES,
    );
    if (decision.kind === "fail") {
      log.warn({
        event: "retraining.failed",
        cycleId: cycle.id,
        step: cycle.status,
        error: decision.message,
      });
      await store.retraining.advance(cycle.id, {
        status: "failed",
        error: decision.message,
        step: `${cycle.status}-failed`,
        message: decision.message,
      });
      return;
    }
    const backoffMs = retryBackoffMs(decision.failures, this.#tickMs);
    const retryAt = new Date(clock.now().getTime() + backoffMs).toISOString();
    log.warn({
      event: "retraining.step_retry",
      cycleId: cycle.id,
      step: cycle.status,
      failures: decision.failures,
      error: decision.message,
      retryAt,
    });
    await store.retraining.advance(cycle.id, {
      status: cycle.status as CycleStatus,
      state: { transient: { status: cycle.status, failures: decision.failures, retryAt } },
      step: `${cycle.status}-retry`,
      message: `${decision.message}; retrying in ${Math.round(backoffMs / 1000)} s (failure ${decision.failures})`,
      details: { failures: decision.failures, error: decision.message, retryAt },
    });
  }

  /** A step that went through after transient failures without moving the cycle on clears the count. */
  async #recovered(cycle: RetrainingCycle): Promise<void> {
    const transient = (cycle.state as CycleState).transient;
    if (!transient || transient.status !== cycle.status) return;
    const now = await this.#deps.store.retraining.get(cycle.id);
    const recovery = recoveryOf(cycle.status, transient, now?.status);
    if (recovery) await this.#deps.store.retraining.advance(cycle.id, recovery);
  }
}

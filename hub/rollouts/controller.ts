/**
 * The rollout controller: one reconcile loop per deployment, like a Kubernetes controller. Device
 * reports, timers and operator commands only queue a deployment id; a worker re-reads the row,
 * asks the pure planner for the next step, persists it with a compare-and-set on `generation`,
 * and only then syncs device desired states (convergent, so repeating it is harmless). A hub that
 * stops mid-rollout finds the same row on restart and carries on from the persisted wave.
 */

import type { Clock, TimerHandle } from "../../lib/clock.js";
import type { Logger } from "../../lib/log.js";
import type { DeploymentStatus, RolloutOutcome } from "../db/schema/deployments.js";
import { ConflictError, type Deployment, NotFoundError } from "../repos/index.js";
import { evaluateGates, type GateReport } from "./gates.js";
import { type ObserveDeps, observe, observeDevices } from "./observe.js";
import { planStep } from "./planner.js";
import { waveCounts } from "./spec.js";
import { emptyAggregate } from "./stats.js";
import { type SyncDeps, syncDevices } from "./sync.js";
import { WorkQueue } from "./work-queue.js";

export const ROLLOUT_CONTROLLER_DEFAULTS = {
  /** Deployments reconciled at the same time (count). */
  concurrency: 4,
  /** Every active deployment is queued again this often, in case a timer or event was lost (ms). */
  resyncMs: 30_000,
  /** Wait before retrying a pass that threw (ms). */
  retryMs: 5_000,
  /** Steps one pass may take before yielding (a guard against a planner loop). */
  maxStepsPerPass: 100,
  /** Device reports for one deployment are gathered this long into one pass (ms, wall clock). */
  deviceEventCoalesceMs: 100,
} as const;

export type RolloutCommand = "pause" | "resume" | "abort" | "rollback";

/** Statuses each command accepts. */
const COMMAND_FROM: Record<RolloutCommand, readonly DeploymentStatus[]> = {
  pause: ["active"],
  resume: ["paused"],
  abort: ["active", "paused"],
  rollback: ["active", "paused", "completed", "aborted"],
};

export type RolloutControllerDeps = Omit<SyncDeps, "repos" | "now"> &
  Omit<ObserveDeps, "repos"> & {
    repos: SyncDeps["repos"] & ObserveDeps["repos"];
    clock: Clock;
    log: Logger;
  };

export class RolloutController {
  readonly #deps: RolloutControllerDeps & Pick<SyncDeps, "now">;
  readonly #queue: WorkQueue;
  readonly #timers = new Map<string, TimerHandle>();
  #resync: TimerHandle | undefined;
  #closed = false;
  /**
   * Targets of the open (active or paused) deployments, refreshed on every pass: device reports
   * arrive by the thousand during a rollout, and looking them up in the database one by one took
   * more time than the rollout itself.
   */
  readonly #openTargets = new Map<string, ReadonlySet<string>>();
  readonly #nudged = new Set<string>();

  constructor(deps: RolloutControllerDeps) {
    this.#deps = { ...deps, now: () => deps.clock.now() };
    this.#queue = new WorkQueue({
      concurrency: ROLLOUT_CONTROLLER_DEFAULTS.concurrency,
      work: (id) => this.#reconcile(id),
      onError: (id, error) =>
        deps.log.error({ event: "rollout.reconcile.failed", deploymentId: id, error: describe(error) }),
      retry: (id) => this.#schedule(id, ROLLOUT_CONTROLLER_DEFAULTS.retryMs),
    });
  }

  /** Repairs every device's desired state, then resumes every active or paused rollout. */
  async start(): Promise<void> {
    const repaired = await syncDevices(this.#deps, "all");
    const open = await this.#deps.repos.deployments.listByStatus(["active", "paused"]);
    for (const d of open) this.#openTargets.set(d.id, new Set(d.targetDeviceIds));
    this.#deps.log.info({
      event: "rollout.controller.started",
      resumed: open.length,
      repaired: repaired.changed.length,
    });
    for (const d of open) this.enqueue(d.id);
    this.#armResync();
  }

  /** Queues a deployment for reconciliation. */
  enqueue(id: string): void {
    this.#queue.add(id);
  }

  /** Queues a deployment and resolves once a pass that started after this call is done. */
  reconcileNow(id: string): Promise<void> {
    return this.#queue.addAndWait(id);
  }

  /** A device reported or came online: queue the active rollouts that target it. */
  async deviceChanged(deviceId: string): Promise<void> {
    if (this.#closed) return;
    for (const [id, targets] of this.#openTargets) if (targets.has(deviceId)) this.#nudge(id);
  }

  /** Queues a deployment a moment later, so a burst of device reports makes one pass, not thousands. */
  #nudge(id: string): void {
    if (this.#nudged.has(id)) return;
    this.#nudged.add(id);
    setTimeout(() => {
      this.#nudged.delete(id);
      this.enqueue(id);
    }, ROLLOUT_CONTROLLER_DEFAULTS.deviceEventCoalesceMs).unref();
  }

  /** Resolves when no pass is queued or running (tests). */
  whenIdle(): Promise<void> {
    return this.#queue.whenIdle();
  }

  /** Applies an operator command (persisted first), then reconciles; ConflictError from a wrong state. */
  async command(id: string, command: RolloutCommand, by: string): Promise<Deployment> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const d = await this.#deps.repos.deployments.get(id);
      if (!d) throw new NotFoundError("deployment", id);
      if (!COMMAND_FROM[command].includes(d.status)) {
        throw new ConflictError(
          "deployment",
          id,
          `deployment ${id} is ${d.status}; ${command} needs ${COMMAND_FROM[command].join(" or ")}`,
        );
      }
      const now = this.#deps.clock.now();
      const outcome = (reason: RolloutOutcome["reason"], message: string): RolloutOutcome => ({
        reason,
        by,
        at: now.toISOString(),
        message,
        wave: d.wave,
      });
      const patch =
        command === "pause"
          ? { status: "paused" as const, outcome: outcome("paused", `paused by ${by}`) }
          : command === "resume"
            ? { status: "active" as const, outcome: null, ...resumedTimes(d, now) }
            : command === "abort"
              ? {
                  status: "aborted" as const,
                  outcome: outcome("aborted", `aborted by ${by}; released devices keep it`),
                }
              : { status: "rolled-back" as const, outcome: outcome("rolled-back", `rolled back by ${by}`) };
      const next = await this.#deps.repos.deployments.advance(id, d.generation, patch);
      if (!next) continue;
      this.#deps.log.info({ event: `rollout.${command}`, deploymentId: id, by });
      await this.reconcileNow(id);
      return (await this.#deps.repos.deployments.get(id)) ?? next;
    }
    throw new ConflictError("deployment", id, `deployment ${id} kept changing; try again`);
  }

  /** Stops timers and waits for running passes. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#resync?.cancel();
    for (const timer of this.#timers.values()) timer.cancel();
    this.#timers.clear();
    await this.#queue.close();
  }

  async #reconcile(id: string): Promise<void> {
    const { repos, clock, log } = this.#deps;
    for (let step = 0; step < ROLLOUT_CONTROLLER_DEFAULTS.maxStepsPerPass && !this.#closed; step++) {
      const d = await repos.deployments.get(id);
      if (!d) return;
      if (d.status === "active" || d.status === "paused")
        this.#openTargets.set(id, new Set(d.targetDeviceIds));
      else this.#openTargets.delete(id);
      const now = clock.now();
      const counts = waveCounts(d.rollout, d.targetDeviceIds.length);
      const plan = planStep(
        {
          status: d.status,
          counts,
          bakes: d.rollout.waves.map((w) => w.bakeMs),
          ratePerMinute: d.rollout.ratePerMinute,
          wave: d.wave,
          released: d.released,
          waveStartedAt: d.waveStartedAt,
          bakeStartedAt: d.bakeStartedAt,
        },
        now,
      );
      if (plan.kind === "idle") {
        await this.#sync(d);
        return;
      }
      if (plan.kind === "release") {
        const next = await repos.deployments.advance(d.id, d.generation, {
          released: plan.released,
          waveStartedAt: plan.waveStartedAt,
          bakeStartedAt: plan.bakeStartedAt,
        });
        if (next && plan.released !== d.released)
          log.info({ event: "rollout.released", deploymentId: id, wave: d.wave, released: plan.released });
        if (next) await this.#sync(next);
        continue;
      }
      if (plan.kind === "wait") {
        if (d.released > 0) {
          const early = evaluateGates(
            { ...(await observeDevices(this.#deps, d)), next: emptyAggregate(), previous: emptyAggregate() },
            d.rollout.gates,
            true,
          );
          if (!early.passed) {
            await this.#fail(d, early, now);
            continue;
          }
        }
        await this.#sync(d);
        this.#schedule(id, plan.at.getTime() - now.getTime());
        return;
      }
      const report = evaluateGates(await observe(this.#deps, d), d.rollout.gates);
      if (!report.passed) {
        await this.#fail(d, report, now);
        continue;
      }
      if (report.waiting) {
        // onNoData "wait": the wave bakes again; the gate results say why it has not moved on.
        const next = await repos.deployments.advance(d.id, d.generation, {
          bakeStartedAt: now,
          gateResults: report,
        });
        if (next) log.info({ event: "rollout.gate.no_data", deploymentId: id, wave: d.wave });
        continue;
      }
      const next = plan.last
        ? await repos.deployments.advance(d.id, d.generation, {
            status: "completed",
            gateResults: report,
            outcome: {
              reason: "completed",
              by: "controller",
              at: now.toISOString(),
              message: "every wave passed its gates",
              wave: d.wave,
            },
          })
        : await repos.deployments.advance(d.id, d.generation, {
            wave: plan.nextWave,
            waveStartedAt: now,
            bakeStartedAt: null,
            gateResults: report,
          });
      if (next)
        log.info({
          event: plan.last ? "rollout.completed" : "rollout.wave.passed",
          deploymentId: id,
          wave: d.wave,
        });
    }
  }

  async #fail(d: Deployment, report: GateReport, now: Date): Promise<void> {
    const failed = report.results.filter((r) => r.status === "fail");
    const message = `wave ${d.wave + 1} failed its gates: ${failed.map((r) => `${r.gate} (${r.message})`).join("; ")}`;
    const next = await this.#deps.repos.deployments.advance(d.id, d.generation, {
      status: "rolled-back",
      gateResults: report,
      outcome: {
        reason: "gate-failed",
        by: "controller",
        at: now.toISOString(),
        message,
        wave: d.wave,
        details: failed,
      },
    });
    if (!next) return;
    this.#deps.log.warn({
      event: "rollout.gate.failed",
      deploymentId: d.id,
      wave: d.wave,
      gates: failed.map((r) => r.gate),
    });
    await this.#sync(next);
  }

  async #sync(d: Deployment): Promise<void> {
    const result = await syncDevices(this.#deps, d.targetDeviceIds);
    if (result.failures.length > 0)
      throw new Error(`${result.failures.length} device(s) could not be synced`);
  }

  #schedule(id: string, ms: number): void {
    if (this.#closed) return;
    this.#timers.get(id)?.cancel();
    this.#timers.set(
      id,
      this.#deps.clock.setTimer(ms, () => {
        this.#timers.delete(id);
        this.enqueue(id);
      }),
    );
  }

  #armResync(): void {
    if (this.#closed) return;
    this.#resync = this.#deps.clock.setTimer(ROLLOUT_CONTROLLER_DEFAULTS.resyncMs, () => {
      void this.#deps.repos.deployments
        .listByStatus(["active"])
        .then((open) => {
          for (const d of open) this.enqueue(d.id);
        })
        .catch((error) => this.#deps.log.warn({ event: "rollout.resync.failed", error: describe(error) }))
        .finally(() => this.#armResync());
    });
  }
}

/** On resume the bake starts again and the rate limit carries on from what is already out. */
function resumedTimes(d: Deployment, now: Date): { waveStartedAt?: Date; bakeStartedAt?: Date | null } {
  if (d.bakeStartedAt) return { bakeStartedAt: now };
  if (!d.waveStartedAt || d.rollout.ratePerMinute === null) return {};
  const counts = waveCounts(d.rollout, d.targetDeviceIds.length);
  const previous = d.wave === 0 ? 0 : (counts[d.wave - 1] ?? 0);
  const intervalMs = 60_000 / d.rollout.ratePerMinute;
  return { waveStartedAt: new Date(now.getTime() - (d.released - previous) * intervalMs) };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

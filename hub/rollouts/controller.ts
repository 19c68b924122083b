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
import { activationRule, type DeviceStanding, type Settlement, settle } from "./activation.js";
import { evaluateGates, type GateReport } from "./gates.js";
import { type ObserveDeps, observe, observeDevices, releasedDevices } from "./observe.js";
import { planStep } from "./planner.js";
import { judgeShadow, observeShadow, type ShadowFigures } from "./shadow.js";
import { waveCounts } from "./spec.js";
import { emptyAggregate } from "./stats.js";
import { isShadowing, type SyncDeps, syncDevices } from "./sync.js";
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

/** Statuses the controller keeps watching: rolling out, or waiting for stragglers to activate. */
const WATCHED: readonly DeploymentStatus[] = ["active", "paused", "partially-applied"];

/** Statuses each command accepts. */
const COMMAND_FROM: Record<RolloutCommand, readonly DeploymentStatus[]> = {
  pause: ["active"],
  resume: ["paused"],
  abort: ["active", "paused"],
  rollback: ["active", "paused", "completed", "partially-applied", "aborted"],
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
    const open = await this.#deps.repos.deployments.listByStatus(WATCHED);
    for (const d of open) this.#openTargets.set(d.id, new Set(d.targetDeviceIds));
    this.#deps.log.info({
      event: "rollout.controller.started",
      resumed: open.length,
      repaired: repaired.changed.length,
    });
    for (const d of open) this.enqueue(d.id);
    this.#armResync();
  }

  /** The controller's time (its injected clock), for views that show deadlines. */
  now(): Date {
    return this.#deps.clock.now();
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
      if (WATCHED.includes(d.status)) this.#openTargets.set(id, new Set(d.targetDeviceIds));
      else this.#openTargets.delete(id);
      const now = clock.now();
      if (d.status === "partially-applied") {
        await this.#recheck(d, now);
        return;
      }
      if (d.status === "active" && isShadowing(d)) {
        if (await this.#shadowStep(d, now)) continue;
        return;
      }
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
      // Judge only once every released device has settled or the wave's activation deadline passed.
      const settlement = await this.#settle(d, now);
      if (!settlement.ready) {
        const early = evaluateGates(
          {
            released: settlement.devices.length,
            failed: settlement.devices.filter((x) => x.verdict === "failed").length,
            next: emptyAggregate(),
            previous: emptyAggregate(),
          },
          d.rollout.gates,
          true,
        );
        if (!early.passed) {
          await this.#fail(d, early, now, settlement.devices);
          continue;
        }
        await this.#sync(d);
        const deadline = this.#deadline(d);
        // Device reports queue this deployment; the timer is for devices that never report.
        if (deadline > now) this.#schedule(id, deadline.getTime() - now.getTime());
        return;
      }
      const report = evaluateGates(
        await observe(this.#deps, d, { released: settlement.judged, failed: settlement.failed }),
        d.rollout.gates,
      );
      if (!report.passed) {
        await this.#fail(d, report, now, settlement.devices);
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
      if (plan.last) {
        await this.#finish(d, report, settlement.devices, now);
        continue;
      }
      const next = await repos.deployments.advance(d.id, d.generation, {
        wave: plan.nextWave,
        waveStartedAt: now,
        bakeStartedAt: null,
        gateResults: report,
      });
      if (next) log.info({ event: "rollout.wave.passed", deploymentId: id, wave: d.wave });
    }
  }

  /**
   * One step of a deployment's shadow phase: start it, wait out its bake, then promote the
   * candidate (the deployment goes on as an ordinary rollout) or drop it. True: take another step.
   */
  async #shadowStep(d: Deployment, now: Date): Promise<boolean> {
    const { repos, log } = this.#deps;
    const spec = d.rollout.shadow!;
    if (!d.waveStartedAt) {
      const next = await repos.deployments.advance(d.id, d.generation, { waveStartedAt: now });
      if (next) {
        log.info({ event: "rollout.shadow.started", deploymentId: d.id, targets: d.targetDeviceIds.length });
        await this.#sync(next);
      }
      return true;
    }
    await this.#sync(d);
    const ends = d.waveStartedAt.getTime() + spec.bakeMs;
    if (now.getTime() < ends) {
      this.#schedule(d.id, ends - now.getTime());
      return false;
    }
    const verdict = judgeShadow(await observeShadow(this.#deps, d), spec);
    const report = { passed: verdict.passed, waiting: verdict.waiting, results: verdict.results };
    if (verdict.waiting) {
      // Too few scored requests to judge: shadow for another bake, as onNoData "wait" does.
      const next = await repos.deployments.advance(d.id, d.generation, {
        waveStartedAt: now,
        gateResults: report,
      });
      if (next) log.info({ event: "rollout.shadow.no_data", deploymentId: d.id });
      return true;
    }
    if (!verdict.passed) {
      const failed = verdict.results.filter((r) => r.status === "fail");
      const next = await repos.deployments.advance(d.id, d.generation, {
        status: "rolled-back",
        gateResults: report,
        outcome: {
          reason: "shadow-dropped",
          by: "controller",
          at: now.toISOString(),
          message: `shadow candidate ${d.moduleVersion} dropped: ${failed.map((r) => `${r.gate} (${r.message})`).join("; ")}; no answer changed`,
          details: failed,
        },
      });
      if (next) {
        log.warn({ event: "rollout.shadow.dropped", deploymentId: d.id, gates: failed.map((r) => r.gate) });
        await this.#sync(next);
      }
      return false;
    }
    const next = await repos.deployments.advance(d.id, d.generation, {
      rollout: {
        ...d.rollout,
        shadow: { ...spec, phase: "promoted", verdict: { at: now.toISOString(), results: verdict.results } },
      },
      waveStartedAt: null,
      bakeStartedAt: null,
      gateResults: report,
    });
    if (next) log.info({ event: "rollout.shadow.promoted", deploymentId: d.id });
    return true;
  }

  /** The candidate's and serving version's figures of a shadow deployment, side by side (API). */
  async shadowView(d: Deployment): Promise<ShadowFigures | null> {
    if (!d.rollout.shadow) return null;
    return observeShadow(this.#deps, d);
  }

  /** The current wave's activation deadline: its last device's release plus the activation timeout. */
  #deadline(d: Deployment): Date {
    const start = d.bakeStartedAt ?? d.waveStartedAt ?? d.createdAt;
    return new Date(start.getTime() + activationRule(d.rollout.gates).activationTimeoutMs);
  }

  async #settle(d: Deployment, now: Date): Promise<Settlement> {
    const devices = await releasedDevices(this.#deps, d);
    return settle(devices, d.moduleVersion, activationRule(d.rollout.gates), now, this.#deadline(d));
  }

  /**
   * The last wave passed its gates: `completed` only when every targeted device is active, else
   * `partially-applied` with the devices that are not and why.
   */
  async #finish(d: Deployment, report: GateReport, devices: DeviceStanding[], now: Date): Promise<void> {
    const missing = devices.filter((x) => x.verdict !== "active");
    const complete = missing.length === 0;
    const next = await this.#deps.repos.deployments.advance(d.id, d.generation, {
      status: complete ? "completed" : "partially-applied",
      gateResults: report,
      outcome: {
        reason: complete ? "completed" : "partially-applied",
        by: "controller",
        at: now.toISOString(),
        message: complete
          ? `every wave passed its gates and all ${devices.length} targeted device(s) are active`
          : `every wave passed its gates, but ${missing.length} of ${devices.length} targeted device(s) are not active: ${describeDevices(missing)}`,
        wave: d.wave,
        ...(complete ? {} : { devices: missing }),
      },
    });
    if (!next) return;
    this.#deps.log.info({
      event: complete ? "rollout.completed" : "rollout.partially_applied",
      deploymentId: d.id,
      wave: d.wave,
      ...(complete ? {} : { notActive: missing.length }),
    });
    await this.#sync(next);
  }

  /** A partially applied deployment becomes completed once every targeted device reports it active. */
  async #recheck(d: Deployment, now: Date): Promise<void> {
    await this.#sync(d);
    const devices = await releasedDevices(this.#deps, d);
    // No deadline after the last wave: a device still on its way is in progress, not timed out.
    const never = new Date(8.64e15);
    const standings = settle(devices, d.moduleVersion, activationRule(d.rollout.gates), now, never).devices;
    // A device that timed out stays timed out until it settles (being on its way is no news).
    const earlier = new Map((d.outcome?.devices ?? []).map((x) => [x.deviceId, x]));
    const missing = standings
      .filter((x) => x.verdict !== "active")
      .map((x) => {
        const was = earlier.get(x.deviceId);
        return x.verdict === "in-progress" && was?.verdict === "timed-out" ? (was as DeviceStanding) : x;
      });
    const before = (d.outcome?.devices ?? []).map((x) => `${x.deviceId}:${x.verdict}`).join(",");
    const after = missing.map((x) => `${x.deviceId}:${x.verdict}`).join(",");
    if (missing.length > 0 && before === after) return;
    const complete = missing.length === 0;
    const next = await this.#deps.repos.deployments.advance(d.id, d.generation, {
      status: complete ? "completed" : "partially-applied",
      outcome: {
        reason: complete ? "completed" : "partially-applied",
        by: "controller",
        at: now.toISOString(),
        message: complete
          ? `all ${standings.length} targeted device(s) are active (the last ones after the final wave passed)`
          : `every wave passed its gates, but ${missing.length} of ${standings.length} targeted device(s) are not active: ${describeDevices(missing)}`,
        wave: d.wave,
        ...(complete ? {} : { devices: missing }),
      },
    });
    if (next && complete) this.#deps.log.info({ event: "rollout.completed", deploymentId: d.id, late: true });
  }

  async #fail(d: Deployment, report: GateReport, now: Date, devices?: DeviceStanding[]): Promise<void> {
    const failed = report.results.filter((r) => r.status === "fail");
    const notActive = (devices ?? []).filter((x) => x.verdict !== "active");
    const broken = notActive.filter((x) => x.verdict === "failed" || x.verdict === "timed-out");
    const message = `wave ${d.wave + 1} failed its gates: ${failed.map((r) => `${r.gate} (${r.message})`).join("; ")}${broken.length > 0 ? `; ${describeDevices(broken)}` : ""}`;
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
        ...(notActive.length > 0 ? { devices: notActive } : {}),
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

/** "d1 failed (warm-up: …); d2 timed-out (…)", at most 10 named. */
function describeDevices(devices: readonly DeviceStanding[]): string {
  const named = devices
    .slice(0, 10)
    .map((x) => `${x.deviceId} ${x.verdict}${x.reason ? ` (${x.reason})` : ""}`);
  return devices.length > 10 ? `${named.join("; ")}; and ${devices.length - 10} more` : named.join("; ");
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

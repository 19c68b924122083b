/**
 * The retraining loop, one cycle per alarm of a monitor with action retrain:
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
 * Each step is persisted before the next begins (hub/repos/retraining.ts), and the driver polls
 * open cycles, so a hub restart resumes where it stopped; the canary is followed by reading the
 * deployment's persisted status on each pass, which a restart does not lose either. Steps with
 * side effects outside the cycle (training, packaging, deploying) first look for what an interrupted
 * earlier attempt left behind and adopt it. A step that throws a verdict ends the cycle failed; any
 * other error is retried after a growing backoff, up to a bound (retry.ts). A cycle ends succeeded,
 * rejected (the challenger did not win by the margin), failed (with the reason), rolled-back or
 * aborted (the canary's fate), each step an event. Hub replicas sharing a database each run a
 * driver; a pass steps only the cycles it holds a lease on (renewed each pass, handed back on close),
 * so one cycle is stepped by one driver at a time and a crashed replica's cycles move on once its
 * leases lapse.
 */
import { randomUUID } from "node:crypto";
import type { Clock, TimerHandle } from "../../lib/clock.js";
import type { Logger } from "../../lib/log.js";
import { COLLECT_SAMPLES, type CollectSamplesCommand } from "../../wire/commands.js";
import { PROTOCOL_VERSION } from "../../wire/messages.js";
import type { BlobStore } from "../blobs/blob-store.js";
import type { RetrainSettings } from "../db/schema/drift.js";
import type { RunSpec } from "../jobs/spec.js";
import { cohortDevices, monitoringSpecOf } from "../monitors/evaluate.js";
import type { DriftStore } from "../monitors/store.js";
import type { HubLink } from "../mqtt/hub-link.js";
import type { Deployment, Repositories } from "../repos/index.js";
import type { ModelVersion } from "../repos/models.js";
import type { Monitor } from "../repos/monitors.js";
import type { CycleStatus, RetrainingCycle } from "../repos/retraining.js";
import type { RunRow } from "../repos/runs.js";
import { commandDeployment, type DeploymentDeps, deployModule } from "../services/deployments.js";
import type { PackagingDeps } from "../services/packaging.js";
import { findChampion, moduleSource } from "./champion.js";
import { challengerWins, datasetRow, isHoldout, type LabelledRow, scoreModel } from "./compare.js";
import { packageTrainedModel } from "./package.js";
import {
  CycleFailure,
  DEFAULT_MAX_TRANSIENT_FAILURES,
  decideOnError,
  retryBackoffMs,
  type TransientCount,
  waitingToRetry,
} from "./retry.js";

/** What a cycle has produced so far (the cycle's `state` column). */
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

/**
 * The parts of the hub a cycle steps through: the repositories and blobs it reads and writes, the
 * link that asks devices for samples, and packaging and deploying as the API does them.
 */
export type RetrainingHub = DeploymentDeps &
  PackagingDeps & {
    repos: Pick<Repositories, "devices" | "modules" | "models" | "runs" | "deployments">;
    blobs: BlobStore;
    link: Pick<HubLink, "publishCommand">;
  };

export interface RetrainingDeps {
  hub: RetrainingHub;
  store: DriftStore;
  clock: Clock;
  log: Logger;
  /** POST /runs in process (the job service's submit). */
  submitRun(body: unknown): Promise<{ id: string }>;
  /** How often open cycles are looked at (ms). Default 2000. */
  tickMs?: number;
  /** Transient failures of one step in a row that end a cycle failed. Default 5. */
  maxTransientFailures?: number;
  /** How long a pass's claim on a cycle lasts (ms); renewed each pass. Default max(60 s, 10 ticks). */
  leaseMs?: number;
}

/** Drives open retraining cycles. */
export class RetrainingDriver {
  readonly #deps: RetrainingDeps;
  readonly #tickMs: number;
  #timer: TimerHandle | undefined;
  #running: Promise<void> = Promise.resolve();
  #closed = false;
  /** This driver's identity in cycle leases: one per process, so replicas never share one. */
  readonly #owner = randomUUID();
  readonly #leaseMs: number;

  constructor(deps: RetrainingDeps) {
    this.#deps = deps;
    this.#tickMs = Math.max(10, deps.tickMs ?? 2_000);
    this.#leaseMs = deps.leaseMs ?? Math.max(60_000, 10 * this.#tickMs);
  }

  start(): void {
    this.#arm();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#timer?.cancel();
    await this.#running.catch(() => undefined);
    // Hand the cycles over now rather than when the leases run out.
    await this.#deps.store.retraining
      .release(this.#owner)
      .catch((error: unknown) => this.#deps.log.warn({ event: "retraining.release_failed", err: error }));
  }

  /** Opens a cycle for a monitor's alarm (none when one is already open) and looks at it soon. */
  async trigger(monitor: Monitor, alertId: string | null): Promise<RetrainingCycle | null> {
    const cycle = await this.#deps.store.retraining.start(monitor.id, alertId);
    if (!cycle) {
      this.#deps.log.info({ event: "retraining.already_open", monitorId: monitor.id });
      return null;
    }
    this.#deps.log.info({ event: "retraining.started", monitorId: monitor.id, cycleId: cycle.id });
    this.kick();
    return cycle;
  }

  /** Runs a pass now (after the one in progress). */
  kick(): Promise<void> {
    this.#running = this.#running.catch(() => undefined).then(() => this.#pass());
    return this.#running;
  }

  #arm(): void {
    if (this.#closed) return;
    this.#timer = this.#deps.clock.setTimer(this.#tickMs, () => {
      void this.kick().finally(() => this.#arm());
    });
  }

  async #pass(): Promise<void> {
    if (this.#closed) return;
    let open: RetrainingCycle[];
    try {
      open = await this.#deps.store.retraining.open();
    } catch (error) {
      this.#deps.log.error({ event: "retraining.pass_failed", err: error });
      return;
    }
    for (const cycle of open) {
      if (this.#closed) return;
      if (waitingToRetry(cycle.status, (cycle.state as CycleState).transient, this.#deps.clock.now()))
        continue;
      // Another hub replica steps this cycle while its lease runs (a crashed one's lapses).
      const mine = await this.#deps.store.retraining
        .claim(cycle.id, this.#owner, this.#leaseMs)
        .catch((error: unknown) => {
          this.#deps.log.warn({ event: "retraining.claim_failed", cycleId: cycle.id, err: error });
          return false;
        });
      if (!mine) continue;
      try {
        await this.#step(cycle);
        await this.#recovered(cycle);
      } catch (error) {
        await this.#failed(cycle, error).catch((e: unknown) =>
          this.#deps.log.error({ event: "retraining.advance_failed", cycleId: cycle.id, err: e }),
        );
      }
    }
  }

  /** A step that threw: the cycle fails on a verdict, else the step is retried on the next pass. */
  async #failed(cycle: RetrainingCycle, error: unknown): Promise<void> {
    const { store, log } = this.#deps;
    const previous = (cycle.state as CycleState).transient;
    const decision = decideOnError(
      error,
      cycle.status,
      previous,
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
    const retryAt = new Date(this.#deps.clock.now().getTime() + backoffMs).toISOString();
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

  /**
   * A step that succeeded after transient failures without moving the cycle on (it waits) clears
   * the count, so failures are counted in a row; a step that moved it on left a stale count that
   * the next step ignores (it belongs to another status).
   */
  async #recovered(cycle: RetrainingCycle): Promise<void> {
    const transient = (cycle.state as CycleState).transient;
    if (!transient || transient.status !== cycle.status) return;
    const now = await this.#deps.store.retraining.get(cycle.id);
    if (now?.status !== cycle.status) return;
    await this.#deps.store.retraining.advance(cycle.id, {
      status: now.status as CycleStatus,
      state: { transient: null },
      step: `${cycle.status}-recovered`,
      message: `the step went through again after ${transient.failures} transient failure(s)`,
    });
  }

  async #step(cycle: RetrainingCycle): Promise<void> {
    const monitor = await this.#deps.store.monitors.get(cycle.monitorId);
    if (!monitor) throw new CycleFailure("the monitor was deleted");
    const state = cycle.state as CycleState;
    // A canary already out is followed to its end whatever the monitor's action became since.
    if (cycle.status === "canary") return this.#followCanary(cycle, monitor, state);
    if (monitor.action.kind !== "retrain")
      throw new CycleFailure("the monitor's action is no longer retrain");
    const settings = monitor.action.retrain;
    switch (cycle.status) {
      case "collecting":
        return state.requestedAt
          ? this.#collect(cycle, monitor, settings, state)
          : this.#request(cycle, monitor, settings);
      case "training":
        return this.#training(cycle, state);
      case "evaluating":
        return this.#evaluate(cycle, monitor, settings, state);
      case "packaging":
        return this.#package(cycle, monitor, state);
      case "deploying":
        return this.#deploy(cycle, monitor, settings, state);
      default:
        return;
    }
  }

  async #request(cycle: RetrainingCycle, monitor: Monitor, settings: RetrainSettings): Promise<void> {
    const { hub, store, clock } = this.#deps;
    const devices = await cohortDevices(hub.repos, monitor.selector);
    const requestId = `retrain-${cycle.id.slice(0, 8)}`;
    const command: CollectSamplesCommand = {
      protocol: PROTOCOL_VERSION,
      requestId,
      module: monitor.module,
      version: monitor.moduleVersion,
      maxPerWindow: settings.samplesPerWindow,
      windows: settings.sampleWindows,
    };
    const sent: string[] = [];
    for (const deviceId of devices) {
      try {
        await hub.link.publishCommand(deviceId, COLLECT_SAMPLES, command);
        sent.push(deviceId);
      } catch (error) {
        this.#deps.log.warn({
          event: "retraining.command_failed",
          deviceId,
          error: (error as Error).message,
        });
      }
    }
    if (sent.length === 0) throw new CycleFailure("no device of the cohort could be asked for samples");
    await store.retraining.advance(cycle.id, {
      status: "collecting",
      state: { requestId, requestedAt: clock.now().toISOString(), devices: sent },
      step: "samples-requested",
      message: `asked ${sent.length} device(s) for up to ${settings.samplesPerWindow} rows per window over ${settings.sampleWindows} window(s)`,
      details: { devices: sent, command },
    });
  }

  async #labelled(monitor: Monitor, state: CycleState): Promise<LabelledRow[]> {
    const rows = await this.#deps.store.data.samples({
      module: monitor.module,
      deviceIds: state.devices ?? [],
      labelled: true,
      since: new Date(state.requestedAt!),
      limit: 100_000,
    });
    return rows.map((r) => ({ id: `${r.deviceId}/${r.sampleId}`, inputs: r.inputs, label: r.label! }));
  }

  async #champion(monitor: Monitor, settings: RetrainSettings): Promise<ModelVersion> {
    const { hub } = this.#deps;
    const module = await hub.repos.modules.get(monitor.module, monitor.moduleVersion);
    const source = moduleSource(module?.manifest);
    const model = settings.model ?? source?.model;
    if (!model)
      throw new CycleFailure("no model to retrain: retrain.model is unset and the module names no source");
    const champion = await findChampion(hub.repos, model, source);
    if (!champion?.training) throw new CycleFailure(`model ${model} has no trained champion`);
    return champion;
  }

  async #collect(
    cycle: RetrainingCycle,
    monitor: Monitor,
    settings: RetrainSettings,
    state: CycleState,
  ): Promise<void> {
    const { hub, store, clock } = this.#deps;
    // An attempt interrupted between submitting the run and recording it left the run behind
    // (marked with this cycle's id): follow that one instead of submitting a second.
    const [left] = await hub.repos.runs.byCycle(cycle.id);
    if (left) return this.#adoptRun(cycle, monitor, settings, left);
    const labelled = await this.#labelled(monitor, state);
    if (labelled.length < settings.minLabelled) {
      const waited = clock.now().getTime() - Date.parse(state.requestedAt!);
      if (waited > settings.collectTimeoutMs) {
        throw new CycleFailure(
          `only ${labelled.length} labelled samples after ${Math.round(waited / 1000)} s; the monitor needs ${settings.minLabelled}`,
        );
      }
      return;
    }
    const champion = await this.#champion(monitor, settings);
    const training = champion.training!;
    const train = labelled.filter((row) => !isHoldout(row));
    const jsonl = `${train.map((row) => JSON.stringify(datasetRow(training, row))).join("\n")}\n`;
    const blob = await hub.blobs.put(Buffer.from(jsonl));
    const recipe = settings.recipe ?? champion.lineage?.recipe ?? "gbt";
    const params =
      settings.params ?? (recipe === champion.lineage?.recipe ? champion.lineage?.params : undefined);
    const run = await this.#deps.submitRun({
      experiment: champion.modelName,
      dataset: { name: settings.dataset, version: "latest" },
      task: training.task,
      target: training.target,
      recipe,
      ...(params ? { params } : {}),
      register: { model: champion.modelName },
      trigger: { kind: "monitor", monitorId: monitor.id, cycleId: cycle.id },
      extraRows: { blob: blob.sha256 },
    });
    await store.retraining.advance(cycle.id, {
      status: "training",
      state: {
        model: champion.modelName,
        champion: champion.version,
        runId: run.id,
        extraRows: { blob: blob.sha256, rows: train.length },
      },
      step: "run-submitted",
      message: `run ${run.id}: ${recipe} on ${settings.dataset}@latest + ${train.length} device rows (${labelled.length - train.length} held out)`,
      details: { runId: run.id, recipe, labelled: labelled.length, train: train.length },
    });
  }

  async #adoptRun(
    cycle: RetrainingCycle,
    monitor: Monitor,
    settings: RetrainSettings,
    run: RunRow,
  ): Promise<void> {
    const { hub, store } = this.#deps;
    const spec = run.spec as Partial<RunSpec>;
    // The champion does not move while a cycle is open (only its own canary moves it).
    const champion = await this.#champion(monitor, settings);
    const blob = spec.extraRows?.blob;
    const rows = blob ? (await hub.blobs.read(blob)).toString("utf8").split("\n").filter(Boolean).length : 0;
    await store.retraining.advance(cycle.id, {
      status: "training",
      state: {
        model: spec.register?.model ?? champion.modelName,
        champion: champion.version,
        runId: run.id,
        ...(blob ? { extraRows: { blob, rows } } : {}),
      },
      step: "run-submitted",
      message: `run ${run.id} (submitted by an interrupted attempt): ${spec.recipe} on ${spec.dataset?.name} + ${rows} device rows`,
      details: { runId: run.id, recipe: spec.recipe, train: rows, adopted: true },
    });
  }

  async #training(cycle: RetrainingCycle, state: CycleState): Promise<void> {
    const run = await this.#deps.hub.repos.runs.get(state.runId!);
    if (!run) throw new CycleFailure(`run ${state.runId} disappeared`);
    if (run.status === "failed" || run.status === "cancelled") {
      const error = run.error as { code?: string; message?: string } | null;
      throw new CycleFailure(`run ${run.id} ${run.status}${error?.message ? `: ${error.message}` : ""}`);
    }
    if (run.status !== "succeeded") return;
    const model = (run.outputs as { model?: { name: string; version: number } }).model;
    if (!model) throw new CycleFailure(`run ${run.id} succeeded without registering a model`);
    await this.#deps.store.retraining.advance(cycle.id, {
      status: "evaluating",
      state: { challenger: model.version },
      step: "run-succeeded",
      message: `run ${run.id} registered ${model.name} version ${model.version}`,
      details: { runId: run.id, metrics: run.metrics },
    });
  }

  async #evaluate(
    cycle: RetrainingCycle,
    monitor: Monitor,
    settings: RetrainSettings,
    state: CycleState,
  ): Promise<void> {
    const { hub, store } = this.#deps;
    const versions = await Promise.all(
      [state.champion!, state.challenger!].map((v) => hub.repos.models.getVersion(state.model!, v)),
    );
    const [champion, challenger] = versions;
    if (!champion?.training || !challenger?.training)
      throw new CycleFailure("champion or challenger version is missing");
    const holdout = (await this.#labelled(monitor, state)).filter(isHoldout);
    const championScore = await scoreModel(
      await hub.blobs.read(champion.blobSha256),
      champion.training,
      holdout,
    );
    const challengerScore = await scoreModel(
      await hub.blobs.read(challenger.blobSha256),
      challenger.training,
      holdout,
    );
    const wins = challengerWins(challengerScore, championScore, settings.margin);
    const scores = {
      champion: championScore,
      challenger: challengerScore,
      holdout: holdout.length,
      margin: settings.margin,
    };
    const text = `${challengerScore.metric} on ${holdout.length} held-out device rows: challenger v${challenger.version} ${challengerScore.value.toFixed(4)}, champion v${champion.version} ${championScore.value.toFixed(4)} (margin ${settings.margin})`;
    await store.retraining.advance(cycle.id, {
      status: wins ? "packaging" : "rejected",
      state: { scores },
      step: wins ? "challenger-won" : "challenger-rejected",
      message: text,
      details: scores,
    });
  }

  async #package(cycle: RetrainingCycle, monitor: Monitor, state: CycleState): Promise<void> {
    const { hub, store } = this.#deps;
    // An attempt interrupted after packaging left the version behind: adopt it, not a second one.
    const existing = (await hub.repos.modules.list(monitor.module)).find((m) => {
      const source = moduleSource(m.manifest);
      return source !== undefined && source.model === state.model && source.modelVersion === state.challenger;
    });
    // The new version keeps the sample policy and hold-back size the operator chose for the old one.
    const spec = await monitoringSpecOf(hub.repos, monitor.module, monitor.moduleVersion);
    const module =
      existing ??
      (await packageTrainedModel(hub, state.model!, state.challenger!, {
        module: monitor.module,
        ...(spec.samples ? { samples: spec.samples } : {}),
        minRows: spec.minRows,
      }));
    await store.retraining.advance(cycle.id, {
      status: "deploying",
      state: { moduleVersion: module.version },
      step: "packaged",
      message: `packaged ${monitor.module}@${module.version} from ${state.model} version ${state.challenger}`,
      details: {
        module: monitor.module,
        version: module.version,
        sha256: module.tarballSha256,
        ...(existing ? { adopted: true } : {}),
      },
    });
  }

  /** Who the cycle's canary deployments are created by (and how an earlier attempt's is found). */
  #creator(monitor: Monitor): string {
    return `monitor:${monitor.name}`;
  }

  async #deploy(
    cycle: RetrainingCycle,
    monitor: Monitor,
    settings: RetrainSettings,
    state: CycleState,
  ): Promise<void> {
    const { hub, store } = this.#deps;
    const { bakeMs, ...size } = settings.canary;
    // A crash between creating the deployment and recording this step leaves the deployment
    // behind; the packaged version is this cycle's own, so a deployment of it by this monitor is
    // that one: adopt it instead of creating a second.
    const [existing] = await hub.repos.deployments.list({
      moduleName: monitor.module,
      moduleVersion: state.moduleVersion!,
      createdBy: this.#creator(monitor),
      limit: 1,
    });
    const deployment =
      existing ??
      (await deployModule(hub, {
        module: monitor.module,
        version: state.moduleVersion!,
        selector: monitor.selector,
        strategy: "canary",
        canary: size.count === undefined && size.percent === undefined ? { count: 1 } : size,
        ...(bakeMs !== undefined ? { bakeMs } : {}),
        createdBy: this.#creator(monitor),
      }));
    await store.retraining.advance(cycle.id, {
      status: "canary",
      state: { deploymentId: deployment.id },
      step: "canary-created",
      message: `canary deployment ${deployment.id} of ${monitor.module}@${state.moduleVersion} to ${deployment.targetDeviceIds.length} device(s); alias champion stays on ${state.model} v${state.champion} until it completes`,
      details: {
        deploymentId: deployment.id,
        targets: deployment.targetDeviceIds.length,
        ...(existing ? { adopted: true } : {}),
      },
    });
  }

  /** Waits for the canary deployment to end; promotes the challenger only when it completed. */
  async #followCanary(cycle: RetrainingCycle, monitor: Monitor, state: CycleState): Promise<void> {
    const deployment = await this.#deps.hub.repos.deployments.get(state.deploymentId!);
    if (!deployment) throw new CycleFailure(`canary deployment ${state.deploymentId} no longer exists`);
    switch (deployment.status) {
      case "active":
      case "paused":
        return;
      case "completed":
        return this.#promote(cycle, monitor, state, deployment);
      case "partially-applied":
        return this.#canaryPartial(cycle, monitor, state, deployment);
      default:
        return this.#canaryStopped(cycle, monitor, state, deployment);
    }
  }

  async #promote(
    cycle: RetrainingCycle,
    monitor: Monitor,
    state: CycleState,
    deployment: Deployment,
  ): Promise<void> {
    const { hub, store } = this.#deps;
    // Both writes are idempotent: a crash before the step is recorded repeats them harmlessly.
    await hub.repos.models.setAlias(state.model!, "champion", state.challenger!);
    await store.monitors.update(monitor.id, { moduleVersion: state.moduleVersion!, state: "no-data" });
    await store.retraining.advance(cycle.id, {
      status: "succeeded",
      step: "canary-completed",
      message: `canary deployment ${deployment.id} of ${monitor.module}@${state.moduleVersion} completed; alias champion → ${state.model} v${state.challenger}; the monitor now watches ${state.moduleVersion}`,
      details: { deploymentId: deployment.id, outcome: deployment.outcome },
    });
  }

  /**
   * Every wave passed its gates but some canary devices are not active (failed under the threshold,
   * offline, timed out). That is no evidence the challenger serves the cohort, so it is not
   * promoted: the canary is rolled back (the devices that did take it go back to what the monitor
   * watches) and the cycle ends failed with the devices and why. Rollback first: a crash before the
   * cycle is recorded leaves a canary rolled back by this cycle, which #canaryStopped recognises.
   */
  async #canaryPartial(
    cycle: RetrainingCycle,
    monitor: Monitor,
    state: CycleState,
    deployment: Deployment,
  ): Promise<void> {
    await commandDeployment(this.#deps.hub, deployment.id, "rollback", rollbackActor(cycle));
    const why = deployment.outcome?.message ?? "some targeted devices are not active";
    await this.#deps.store.retraining.advance(cycle.id, {
      status: "failed",
      error: `canary partially-applied: ${why}`,
      step: "canary-partially-applied",
      message: `canary deployment ${deployment.id} of ${monitor.module}@${state.moduleVersion} partially applied (${why}); not promoted, rolled back; alias champion stays on ${state.model} v${state.champion}; the monitor keeps watching ${monitor.moduleVersion}`,
      details: {
        deploymentId: deployment.id,
        status: deployment.status,
        devices: deployment.outcome?.devices ?? [],
        rolledBack: true,
      },
    });
  }

  async #canaryStopped(
    cycle: RetrainingCycle,
    monitor: Monitor,
    state: CycleState,
    deployment: Deployment,
  ): Promise<void> {
    if (deployment.status === "rolled-back" && deployment.outcome?.by === rollbackActor(cycle)) {
      // This cycle rolled back a partially applied canary and stopped before recording it.
      await this.#deps.store.retraining.advance(cycle.id, {
        status: "failed",
        error: "canary partially-applied: rolled back by this retraining cycle",
        step: "canary-partially-applied",
        message: `canary deployment ${deployment.id} of ${monitor.module}@${state.moduleVersion} partially applied; not promoted, rolled back; alias champion stays on ${state.model} v${state.champion}`,
        details: { deploymentId: deployment.id, status: deployment.status, rolledBack: true },
      });
      return;
    }
    const status = deployment.status === "rolled-back" ? "rolled-back" : "aborted";
    const why = deployment.outcome
      ? `${deployment.outcome.message} (by ${deployment.outcome.by})`
      : `deployment status ${deployment.status}`;
    await this.#deps.store.retraining.advance(cycle.id, {
      status,
      error: `canary ${deployment.status}: ${why}`,
      step: `canary-${deployment.status}`,
      message: `canary deployment ${deployment.id} of ${monitor.module}@${state.moduleVersion} ${deployment.status}: ${why}; alias champion stays on ${state.model} v${state.champion}; the monitor keeps watching ${monitor.moduleVersion}`,
      details: { deploymentId: deployment.id, status: deployment.status, outcome: deployment.outcome },
    });
  }
}

/** Who a cycle's own rollback of its canary is recorded as (the deployment outcome's `by`). */
function rollbackActor(cycle: RetrainingCycle): string {
  return `retraining:${cycle.id}`;
}

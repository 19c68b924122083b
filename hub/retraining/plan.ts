/**
 * The retraining planner: one pure step function per cycle status. Each takes the cycle's
 * persisted state, the monitor's settings and the facts the driver observed for that status
 * (observe.ts), and returns the one next action; the driver (driver.ts) carries it out (act.ts)
 * and persists the step only after its side effect. No I/O and no clock of its own (the time is
 * an argument), so every branch is a unit test (plan.test.ts) without a hub.
 *
 * The `record*` functions are the other half of an effectful action: given what the effect
 * returned (a run id, a module version, a deployment), the step to persist.
 */
import type { CollectSamplesCommand } from "../../wire/commands.js";
import { PROTOCOL_VERSION } from "../../wire/messages.js";
import type { RetrainSettings } from "../db/schema/drift.js";
import type { RunSpec } from "../jobs/spec.js";
import type { Deployment } from "../repos/index.js";
import type { ModelVersion } from "../repos/models.js";
import type { Monitor } from "../repos/monitors.js";
import type { CycleStatus } from "../repos/retraining.js";
import type { RunRow } from "../repos/runs.js";
import type { DeployRequest } from "../services/deployments.js";
import { challengerWins, datasetRow, isHoldout, type LabelledRow, type ModelScore } from "./compare.js";
import type { CycleState } from "./state.js";

/** What the planner reads of a cycle row. */
export interface PlannedCycle {
  id: string;
  status: string;
  state: CycleState;
}

/** A step to persist: the cycle's next status, what to merge into its state, and its event. */
export interface Advance {
  status: CycleStatus;
  state?: Partial<CycleState>;
  error?: string;
  step: string;
  message: string;
  details?: Record<string, unknown>;
}

export type Action =
  /** Nothing to do on this pass (waiting for labels, a run or the canary). */
  | { kind: "wait" }
  /** A verdict: the cycle ends failed (event `{status}-failed`). */
  | { kind: "fail"; message: string }
  /** Persist a step that needs no side effect first. */
  | { kind: "advance"; advance: Advance }
  /** Send collect-samples to the cohort, then record who got it (recordRequested). */
  | { kind: "request-samples"; command: CollectSamplesCommand; devices: string[] }
  /** Store the train rows as a blob, submit the run, then record it (recordRunSubmitted). */
  | { kind: "submit-run"; submission: SubmitRun }
  /** Package the challenger as the module's next version, then record it (recordPackaged). */
  | { kind: "package"; model: string; version: number; options: PackageOptions }
  /** Create the canary deployment, then record it (recordDeployed). */
  | { kind: "deploy"; request: DeployRequest }
  /** Move alias `champion` and the monitor's version (idempotent writes), then persist `advance`. */
  | { kind: "promote"; model: string; challenger: number; moduleVersion: string; advance: Advance }
  /** Roll the canary back as this cycle, then persist `advance`. */
  | { kind: "rollback"; deploymentId: string; by: string; advance: Advance };

/** A run to submit, minus the blob of extra rows (its sha256 is known only once stored). */
export interface SubmitRun {
  /** The `POST /runs` body without `extraRows`. */
  body: Record<string, unknown>;
  /** The dataset rows (feature columns + target) of the train half, one JSON line each. */
  trainRows: Record<string, unknown>[];
  labelled: number;
  champion: { model: string; version: number };
}

export interface PackageOptions {
  module: string;
  samples?: { allowed: boolean; maxPerWindow?: number };
  minRows?: number;
}

/** The champion as observed: found with its training, or why there is none. */
export type ChampionFact = { found: true; version: ModelVersion } | { found: false; reason: string };

const wait: Action = { kind: "wait" };
const fail = (message: string): Action => ({ kind: "fail", message });
const advance = (step: Advance): Action => ({ kind: "advance", advance: step });

/**
 * Checks before any status's step: the monitor still exists and still retrains. A canary already
 * out is followed to its end whatever the monitor's action became since (settings are null then).
 */
export function planPreamble(
  status: string,
  monitor: Monitor | null,
): { settings: RetrainSettings | null } | { fail: string } {
  if (!monitor) return { fail: "the monitor was deleted" };
  if (status === "canary")
    return { settings: monitor.action.kind === "retrain" ? monitor.action.retrain : null };
  if (monitor.action.kind !== "retrain") return { fail: "the monitor's action is no longer retrain" };
  return { settings: monitor.action.retrain };
}

/** The collect-samples request id of a cycle (stable across attempts). */
export function sampleRequestId(cycleId: string): string {
  return `retrain-${cycleId.slice(0, 8)}`;
}

/** collecting, nothing asked yet: ask every cohort device for samples of the watched version. */
export function planRequest(
  cycle: PlannedCycle,
  monitor: Monitor,
  settings: RetrainSettings,
  cohort: string[],
): Action {
  return {
    kind: "request-samples",
    devices: cohort,
    command: {
      protocol: PROTOCOL_VERSION,
      requestId: sampleRequestId(cycle.id),
      module: monitor.module,
      version: monitor.moduleVersion,
      maxPerWindow: settings.samplesPerWindow,
      windows: settings.sampleWindows,
    },
  };
}

/** After request-samples: the step, or a verdict when no device could be asked. */
export function recordRequested(
  settings: RetrainSettings,
  command: CollectSamplesCommand,
  sent: string[],
  now: Date,
): Action {
  if (sent.length === 0) return fail("no device of the cohort could be asked for samples");
  return advance({
    status: "collecting",
    state: { requestId: command.requestId, requestedAt: now.toISOString(), devices: sent },
    step: "samples-requested",
    message: `asked ${sent.length} device(s) for up to ${settings.samplesPerWindow} rows per window over ${settings.sampleWindows} window(s)`,
    details: { devices: sent, command },
  });
}

/** What the collecting step observed once devices were asked. */
export interface CollectFacts {
  /** A run an interrupted attempt submitted for this cycle, with the rows of its blob. */
  leftRun: { run: RunRow; rows: number } | null;
  /** Labelled sample rows since the request. */
  labelled: LabelledRow[];
  champion: ChampionFact;
}

/** collecting, devices asked: adopt a left-behind run, wait for labels, give up, or submit the run. */
export function planCollect(
  cycle: PlannedCycle,
  monitor: Monitor,
  settings: RetrainSettings,
  facts: CollectFacts,
  now: Date,
): Action {
  if (facts.leftRun) return planAdoptRun(facts.leftRun, facts.champion);
  const { labelled } = facts;
  if (labelled.length < settings.minLabelled) {
    const waited = now.getTime() - Date.parse(cycle.state.requestedAt!);
    if (waited > settings.collectTimeoutMs) {
      return fail(
        `only ${labelled.length} labelled samples after ${Math.round(waited / 1000)} s; the monitor needs ${settings.minLabelled}`,
      );
    }
    return wait;
  }
  if (!facts.champion.found) return fail(facts.champion.reason);
  const champion = facts.champion.version;
  const training = champion.training!;
  const train = labelled.filter((row) => !isHoldout(row));
  const recipe = settings.recipe ?? champion.lineage?.recipe ?? "gbt";
  const params =
    settings.params ?? (recipe === champion.lineage?.recipe ? champion.lineage?.params : undefined);
  return {
    kind: "submit-run",
    submission: {
      body: {
        experiment: champion.modelName,
        dataset: { name: settings.dataset, version: "latest" },
        task: training.task,
        target: training.target,
        recipe,
        ...(params ? { params } : {}),
        register: { model: champion.modelName },
        trigger: { kind: "monitor", monitorId: monitor.id, cycleId: cycle.id },
      },
      trainRows: train.map((row) => datasetRow(training, row)),
      labelled: labelled.length,
      champion: { model: champion.modelName, version: champion.version },
    },
  };
}

/** After submit-run: the step that records the run and its extra rows. */
export function recordRunSubmitted(
  submission: SubmitRun,
  settings: RetrainSettings,
  runId: string,
  blob: string,
): Advance {
  const rows = submission.trainRows.length;
  const recipe = submission.body.recipe as string;
  return {
    status: "training",
    state: {
      model: submission.champion.model,
      champion: submission.champion.version,
      runId,
      extraRows: { blob, rows },
    },
    step: "run-submitted",
    message: `run ${runId}: ${recipe} on ${settings.dataset}@latest + ${rows} device rows (${submission.labelled - rows} held out)`,
    details: { runId, recipe, labelled: submission.labelled, train: rows },
  };
}

/** An attempt interrupted between submitting the run and recording it: follow that run. */
function planAdoptRun(left: { run: RunRow; rows: number }, champion: ChampionFact): Action {
  // The champion does not move while a cycle is open (only its own canary moves it).
  if (!champion.found) return fail(champion.reason);
  const { run, rows } = left;
  const spec = run.spec as Partial<RunSpec>;
  const blob = spec.extraRows?.blob;
  return advance({
    status: "training",
    state: {
      model: spec.register?.model ?? champion.version.modelName,
      champion: champion.version.version,
      runId: run.id,
      ...(blob ? { extraRows: { blob, rows } } : {}),
    },
    step: "run-submitted",
    message: `run ${run.id} (submitted by an interrupted attempt): ${spec.recipe} on ${spec.dataset?.name} + ${rows} device rows`,
    details: { runId: run.id, recipe: spec.recipe, train: rows, adopted: true },
  });
}

/** training: wait for the run; its failure fails the cycle, its success names the challenger. */
export function planTraining(state: CycleState, run: RunRow | null): Action {
  if (!run) return fail(`run ${state.runId} disappeared`);
  if (run.status === "failed" || run.status === "cancelled") {
    const error = run.error as { code?: string; message?: string } | null;
    return fail(`run ${run.id} ${run.status}${error?.message ? `: ${error.message}` : ""}`);
  }
  if (run.status !== "succeeded") return wait;
  const model = (run.outputs as { model?: { name: string; version: number } }).model;
  if (!model) return fail(`run ${run.id} succeeded without registering a model`);
  return advance({
    status: "evaluating",
    state: { challenger: model.version },
    step: "run-succeeded",
    message: `run ${run.id} registered ${model.name} version ${model.version}`,
    details: { runId: run.id, metrics: run.metrics },
  });
}

/** What the evaluating step observed: both scored on the holdout half, or a version missing. */
export type EvaluateFacts =
  | { missing: true }
  | {
      missing: false;
      champion: { version: number; score: ModelScore };
      challenger: { version: number; score: ModelScore };
      holdout: number;
    };

/** evaluating: the challenger wins by the margin (packaging) or the cycle ends rejected. */
export function planEvaluate(settings: RetrainSettings, facts: EvaluateFacts): Action {
  if (facts.missing) return fail("champion or challenger version is missing");
  const { champion, challenger, holdout } = facts;
  const wins = challengerWins(challenger.score, champion.score, settings.margin);
  const scores = { champion: champion.score, challenger: challenger.score, holdout, margin: settings.margin };
  return advance({
    status: wins ? "packaging" : "rejected",
    state: { scores },
    step: wins ? "challenger-won" : "challenger-rejected",
    message: `${challenger.score.metric} on ${holdout} held-out device rows: challenger v${challenger.version} ${challenger.score.value.toFixed(4)}, champion v${champion.version} ${champion.score.value.toFixed(4)} (margin ${settings.margin})`,
    details: scores,
  });
}

/** What the packaging step observed. */
export interface PackageFacts {
  /** A version of the module packaged from the challenger (an interrupted attempt's). */
  existing: { version: string; tarballSha256: string } | null;
  /** The watched version's sample policy and hold-back size, which the new version keeps. */
  monitoring: { samples?: PackageOptions["samples"]; minRows: number };
}

/** packaging: adopt the version an interrupted attempt packaged, else package the challenger. */
export function planPackage(monitor: Monitor, state: CycleState, facts: PackageFacts): Action {
  if (facts.existing) return advance(recordPackaged(monitor, state, facts.existing, true));
  const { samples, minRows } = facts.monitoring;
  return {
    kind: "package",
    model: state.model!,
    version: state.challenger!,
    options: { module: monitor.module, ...(samples ? { samples } : {}), minRows },
  };
}

/** The packaging step for a module version (packaged now, or `adopted` from an earlier attempt). */
export function recordPackaged(
  monitor: Monitor,
  state: CycleState,
  module: { version: string; tarballSha256: string },
  adopted = false,
): Advance {
  return {
    status: "deploying",
    state: { moduleVersion: module.version },
    step: "packaged",
    message: `packaged ${monitor.module}@${module.version} from ${state.model} version ${state.challenger}`,
    details: {
      module: monitor.module,
      version: module.version,
      sha256: module.tarballSha256,
      ...(adopted ? { adopted: true } : {}),
    },
  };
}

/** Who a cycle's canary deployments are created by (and how an earlier attempt's is found). */
export function canaryCreator(monitor: Pick<Monitor, "name">): string {
  return `monitor:${monitor.name}`;
}

/** Who a cycle's own rollback of its canary is recorded as (the deployment outcome's `by`). */
export function rollbackActor(cycleId: string): string {
  return `retraining:${cycleId}`;
}

/**
 * deploying: adopt the deployment an interrupted attempt created (the packaged version is this
 * cycle's own, so a deployment of it by this monitor is that one), else create the canary.
 */
export function planDeploy(
  monitor: Monitor,
  settings: RetrainSettings,
  state: CycleState,
  existing: Deployment | null,
): Action {
  if (existing) return advance(recordDeployed(monitor, state, existing, true));
  const { bakeMs, ...size } = settings.canary;
  return {
    kind: "deploy",
    request: {
      module: monitor.module,
      version: state.moduleVersion!,
      selector: monitor.selector,
      strategy: "canary",
      canary: size.count === undefined && size.percent === undefined ? { count: 1 } : size,
      ...(bakeMs !== undefined ? { bakeMs } : {}),
      createdBy: canaryCreator(monitor),
    },
  };
}

/** The deploying step for a canary deployment (created now, or `adopted`). */
export function recordDeployed(
  monitor: Monitor,
  state: CycleState,
  deployment: Pick<Deployment, "id" | "targetDeviceIds">,
  adopted = false,
): Advance {
  return {
    status: "canary",
    state: { deploymentId: deployment.id },
    step: "canary-created",
    message: `canary deployment ${deployment.id} of ${monitor.module}@${state.moduleVersion} to ${deployment.targetDeviceIds.length} device(s); alias champion stays on ${state.model} v${state.champion} until it completes`,
    details: {
      deploymentId: deployment.id,
      targets: deployment.targetDeviceIds.length,
      ...(adopted ? { adopted: true } : {}),
    },
  };
}

/**
 * canary: follow the deployment's persisted status. Active or paused waits; completed promotes
 * the challenger; partially applied (gates passed, some devices not active) is no evidence the
 * challenger serves the cohort, so the canary is rolled back and the cycle fails; rolled back or
 * aborted ends the cycle so, alias and monitor untouched.
 */
export function planCanary(cycle: PlannedCycle, monitor: Monitor, deployment: Deployment | null): Action {
  const state = cycle.state;
  if (!deployment) return fail(`canary deployment ${state.deploymentId} no longer exists`);
  const canary = `canary deployment ${deployment.id} of ${monitor.module}@${state.moduleVersion}`;
  const stays = `alias champion stays on ${state.model} v${state.champion}`;
  switch (deployment.status) {
    case "active":
    case "paused":
      return wait;
    case "completed":
      return {
        kind: "promote",
        model: state.model!,
        challenger: state.challenger!,
        moduleVersion: state.moduleVersion!,
        advance: {
          status: "succeeded",
          step: "canary-completed",
          message: `${canary} completed; alias champion → ${state.model} v${state.challenger}; the monitor now watches ${state.moduleVersion}`,
          details: { deploymentId: deployment.id, outcome: deployment.outcome },
        },
      };
    case "partially-applied": {
      // Rollback first: a crash before the cycle is recorded leaves a canary rolled back by this
      // cycle, which the rolled-back branch below recognises.
      const why = deployment.outcome?.message ?? "some targeted devices are not active";
      return {
        kind: "rollback",
        deploymentId: deployment.id,
        by: rollbackActor(cycle.id),
        advance: {
          status: "failed",
          error: `canary partially-applied: ${why}`,
          step: "canary-partially-applied",
          message: `${canary} partially applied (${why}); not promoted, rolled back; ${stays}; the monitor keeps watching ${monitor.moduleVersion}`,
          details: {
            deploymentId: deployment.id,
            status: deployment.status,
            devices: deployment.outcome?.devices ?? [],
            rolledBack: true,
          },
        },
      };
    }
    default:
      break;
  }
  if (deployment.status === "rolled-back" && deployment.outcome?.by === rollbackActor(cycle.id)) {
    // This cycle rolled back a partially applied canary and stopped before recording it.
    return advance({
      status: "failed",
      error: "canary partially-applied: rolled back by this retraining cycle",
      step: "canary-partially-applied",
      message: `${canary} partially applied; not promoted, rolled back; ${stays}`,
      details: { deploymentId: deployment.id, status: deployment.status, rolledBack: true },
    });
  }
  const status = deployment.status === "rolled-back" ? "rolled-back" : "aborted";
  const why = deployment.outcome
    ? `${deployment.outcome.message} (by ${deployment.outcome.by})`
    : `deployment status ${deployment.status}`;
  return advance({
    status,
    error: `canary ${deployment.status}: ${why}`,
    step: `canary-${deployment.status}`,
    message: `${canary} ${deployment.status}: ${why}; ${stays}; the monitor keeps watching ${monitor.moduleVersion}`,
    details: { deploymentId: deployment.id, status: deployment.status, outcome: deployment.outcome },
  });
}

/** Holdout rows of the labelled samples (the half the run did not see). */
export function holdoutOf(labelled: LabelledRow[]): LabelledRow[] {
  return labelled.filter(isHoldout);
}

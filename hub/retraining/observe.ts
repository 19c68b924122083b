/**
 * What the retraining driver reads before it plans a cycle's step (plan.ts): the facts for the
 * cycle's status, from the repositories, the blobs and the drift store. Reads only; scoring the
 * champion and challenger on the holdout rows (onnxruntime) counts as reading.
 */
import type { RetrainSettings } from "../db/schema/drift.js";
import type { RunSpec } from "../jobs/spec.js";
import { cohortDevices, monitoringSpecOf } from "../monitors/evaluate.js";
import type { DriftStore } from "../monitors/store.js";
import type { Deployment } from "../repos/index.js";
import type { Monitor } from "../repos/monitors.js";
import type { RunRow } from "../repos/runs.js";
import { findChampion, moduleSource } from "./champion.js";
import { type LabelledRow, scoreModel } from "./compare.js";
import {
  type ChampionFact,
  type CollectFacts,
  canaryCreator,
  type EvaluateFacts,
  holdoutOf,
  type PackageFacts,
} from "./plan.js";
import type { RetrainingHub } from "./ports.js";
import type { CycleState } from "./state.js";

export interface ObserveDeps {
  hub: RetrainingHub;
  store: DriftStore;
}

/** Devices the monitor's selector matches now. */
export function observeCohort(deps: ObserveDeps, monitor: Monitor): Promise<string[]> {
  return cohortDevices(deps.hub.repos, monitor.selector);
}

/** Labelled sample rows of the asked devices since the request. */
export async function observeLabelled(
  deps: ObserveDeps,
  monitor: Monitor,
  state: CycleState,
): Promise<LabelledRow[]> {
  const rows = await deps.store.data.samples({
    module: monitor.module,
    deviceIds: state.devices ?? [],
    labelled: true,
    since: new Date(state.requestedAt!),
    limit: 100_000,
  });
  return rows.map((r) => ({ id: `${r.deviceId}/${r.sampleId}`, inputs: r.inputs, label: r.label! }));
}

/** The champion of the retrained model (retrain.model, else the module's source model). */
export async function observeChampion(
  deps: ObserveDeps,
  monitor: Monitor,
  settings: RetrainSettings,
): Promise<ChampionFact> {
  const { repos } = deps.hub;
  const module = await repos.modules.get(monitor.module, monitor.moduleVersion);
  const source = moduleSource(module?.manifest);
  const model = settings.model ?? source?.model;
  if (!model)
    return {
      found: false,
      reason: "no model to retrain: retrain.model is unset and the module names no source",
    };
  const champion = await findChampion(repos, model, source);
  if (!champion?.training) return { found: false, reason: `model ${model} has no trained champion` };
  return { found: true, version: champion };
}

/** collecting (devices asked): a run left by an interrupted attempt, the labelled rows, the champion. */
export async function observeCollect(
  deps: ObserveDeps,
  cycleId: string,
  monitor: Monitor,
  settings: RetrainSettings,
  state: CycleState,
): Promise<CollectFacts> {
  const [left] = await deps.hub.repos.runs.byCycle(cycleId);
  return {
    leftRun: left ? { run: left, rows: await extraRowCount(deps, left) } : null,
    labelled: left ? [] : await observeLabelled(deps, monitor, state),
    champion: await observeChampion(deps, monitor, settings),
  };
}

/** The rows in a run's extra-rows blob (0 without one). */
async function extraRowCount(deps: ObserveDeps, run: RunRow): Promise<number> {
  const blob = (run.spec as Partial<RunSpec>).extraRows?.blob;
  if (!blob) return 0;
  return (await deps.hub.blobs.read(blob)).toString("utf8").split("\n").filter(Boolean).length;
}

/** training: the cycle's run. */
export function observeRun(deps: ObserveDeps, state: CycleState): Promise<RunRow | null> {
  return deps.hub.repos.runs.get(state.runId!);
}

/** evaluating: champion and challenger scored in onnxruntime on the holdout half. */
export async function observeScores(
  deps: ObserveDeps,
  monitor: Monitor,
  state: CycleState,
): Promise<EvaluateFacts> {
  const { hub } = deps;
  const [champion, challenger] = await Promise.all(
    [state.champion!, state.challenger!].map((v) => hub.repos.models.getVersion(state.model!, v)),
  );
  if (!champion?.training || !challenger?.training) return { missing: true };
  const holdout = holdoutOf(await observeLabelled(deps, monitor, state));
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
  return {
    missing: false,
    champion: { version: champion.version, score: championScore },
    challenger: { version: challenger.version, score: challengerScore },
    holdout: holdout.length,
  };
}

/** packaging: a version already packaged from the challenger, and the watched version's policy. */
export async function observePackaging(
  deps: ObserveDeps,
  monitor: Monitor,
  state: CycleState,
): Promise<PackageFacts> {
  const { repos } = deps.hub;
  const existing = (await repos.modules.list(monitor.module)).find((m) => {
    const source = moduleSource(m.manifest);
    return source !== undefined && source.model === state.model && source.modelVersion === state.challenger;
  });
  const spec = await monitoringSpecOf(repos, monitor.module, monitor.moduleVersion);
  return {
    existing: existing ?? null,
    monitoring: { ...(spec.samples ? { samples: spec.samples } : {}), minRows: spec.minRows },
  };
}

/** deploying: a deployment of the packaged version this monitor created (an interrupted attempt's). */
export async function observeDeployment(
  deps: ObserveDeps,
  monitor: Monitor,
  state: CycleState,
): Promise<Deployment | null> {
  const [existing] = await deps.hub.repos.deployments.list({
    moduleName: monitor.module,
    moduleVersion: state.moduleVersion!,
    createdBy: canaryCreator(monitor),
    limit: 1,
  });
  return existing ?? null;
}

/** canary: the deployment as the rollout controller persisted it. */
export function observeCanary(deps: ObserveDeps, state: CycleState): Promise<Deployment | null> {
  return deps.hub.repos.deployments.get(state.deploymentId!);
}

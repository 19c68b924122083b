/**
 * Deployments: validate the rollout request, resolve the selector to devices, record the
 * deployment, and hand it to the rollout controller, which releases it wave by wave and merges it
 * with the other deployments on each device (deps/rollouts). Also the status view and the merge
 * view of one device.
 */

import { found, ValidationError } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import type { DeploymentSelector, DeploymentStatus } from "../db/schema/deployments.js";
import type { PreflightResult, VariantTrade } from "../fleet/preflight.js";
import { preflightTargets } from "../fleet/preflight-targets.js";
import { recordSkipped, skippedFor } from "../fleet/skipped.js";
import type { HubLink } from "../mqtt/hub-link.js";
import type { Deployment, Repositories } from "../repos/index.js";
import { activationRule } from "../rollouts/activation.js";
import type { RolloutCommand, RolloutController } from "../rollouts/controller.js";
import { mergeLayers } from "../rollouts/merge.js";
import { buildRolloutSpec, type RolloutRequest, waveCounts } from "../rollouts/spec.js";
import { layersFor } from "../rollouts/sync.js";

export interface DeployRequest extends RolloutRequest {
  module: string;
  version: string;
  selector: DeploymentSelector;
  priority?: number;
  /** Largest relative metric loss a validated (int8) variant may have; default 1 % (hub/fleet/preflight.ts). */
  maxVariantLoss?: number;
  createdBy: string;
}

/** What deploying and steering deployments use: the repositories they read and write, the controller, a log. */
export interface DeploymentDeps {
  repos: Pick<Repositories, "modules" | "devices" | "deployments" | "events">;
  rollouts: Pick<RolloutController, "reconcileNow" | "command" | "now" | "shadowView">;
  log: Logger;
}

/** The part of DeploymentDeps that reading a deployment's status needs. */
export type DeploymentReadDeps = {
  repos: Pick<Repositories, "devices" | "deployments" | "events">;
  /** The controller's clock, so deadlines read as the controller sees them; else the wall clock. */
  rollouts?: Pick<RolloutController, "now" | "shadowView">;
};

/** Creates a deployment and runs its first rollout step before answering. */
export async function deployModule(deps: DeploymentDeps, request: DeployRequest) {
  const { module: name, version, selector, priority, createdBy, maxVariantLoss, ...rollout } = request;
  const { strategy, spec } = buildRolloutSpec(rollout);
  const module = found(await deps.repos.modules.get(name, version), `module ${name}@${version}`);
  const resolved = await resolveTargets(deps, selector);
  // Preflight first: an incompatible device is skipped whole, before any desired state is written.
  const {
    eligible: targets,
    skipped,
    results,
  } = await preflightTargets(deps, resolved, module, maxVariantLoss !== undefined ? { maxVariantLoss } : {});
  if (targets.length === 0) {
    throw new ValidationError("no targeted device passes preflight", { skipped });
  }
  const last = spec.waves.at(-1)!;
  if (last.count !== undefined && last.count < targets.length)
    throw new ValidationError(`the last wave reaches ${last.count} of ${targets.length} targets`);
  const deployment = await deps.repos.deployments.create({
    moduleName: module.name,
    moduleVersion: module.version,
    selector,
    strategy,
    priority: priority ?? 0,
    rollout: spec,
    targetDeviceIds: targets,
    createdBy,
  });
  await recordSkipped(deps, deployment, skipped);
  deps.log.info({
    event: "deployment.created",
    deploymentId: deployment.id,
    module: module.name,
    version: module.version,
    strategy,
    targets: targets.length,
    skipped: skipped.length,
  });
  await deps.rollouts.reconcileNow(deployment.id);
  return {
    ...((await deps.repos.deployments.get(deployment.id)) ?? deployment),
    skipped,
    variants: variantSummary(targets, results),
  };
}

/** Which model file the eligible devices will load, and what each validated variant trades. */
function variantSummary(targets: readonly string[], results: Record<string, PreflightResult>) {
  const byVariant = new Map<string, { variant: string | null; devices: number; trade?: VariantTrade }>();
  for (const id of targets) {
    const result = results[id];
    if (!result) continue;
    const key = result.variant ?? "";
    const entry = byVariant.get(key) ?? {
      variant: result.variant,
      devices: 0,
      ...(result.trade ? { trade: result.trade } : {}),
    };
    entry.devices++;
    byVariant.set(key, entry);
  }
  return [...byVariant.values()];
}

async function resolveTargets(
  deps: Pick<DeploymentDeps, "repos">,
  selector: DeploymentSelector,
): Promise<string[]> {
  if (selector.deviceIds) {
    const found = await deps.repos.devices.list({ ids: selector.deviceIds, tags: selector.tags });
    const foundIds = new Set(found.map((d) => d.id));
    const unknown = selector.deviceIds.filter((id) => !foundIds.has(id));
    if (unknown.length > 0 && !selector.tags) {
      throw new ValidationError(`unknown devices: ${unknown.join(", ")}`, { unknown });
    }
    if (found.length === 0) throw new ValidationError("the selector matches no devices");
    return found.map((d) => d.id).sort();
  }
  const found = await deps.repos.devices.list({ tags: selector.tags });
  if (found.length === 0) throw new ValidationError("the selector matches no devices");
  return found.map((d) => d.id).sort();
}

/**
 * Deployments newest first, each with `progress` (devices reporting its version active out of
 * those targeted, released beside it): the list view tells the same truth as the detail view.
 */
export async function listDeployments(
  deps: DeploymentReadDeps,
  filter: { status?: DeploymentStatus; moduleName?: string },
) {
  const rows = await deps.repos.deployments.list(filter);
  const ids = [...new Set(rows.flatMap((d) => d.targetDeviceIds))];
  const devices = ids.length === 0 ? [] : await deps.repos.devices.list({ ids });
  const running = new Map<string, Set<string>>();
  for (const device of devices)
    running.set(
      device.id,
      new Set(
        (device.reported?.modules ?? [])
          .filter((m) => m.state === "active")
          .map((m) => `${m.name}@${m.version}`),
      ),
    );
  return rows.map((d) => {
    const key = `${d.moduleName}@${d.moduleVersion}`;
    let active = 0;
    let failed = 0;
    for (const id of d.targetDeviceIds.slice(0, d.released)) {
      if (running.get(id)?.has(key)) active++;
    }
    for (const x of d.outcome?.devices ?? [])
      if (x.verdict === "failed" || x.verdict === "timed-out") failed++;
    return { ...d, progress: { active, targeted: d.targetDeviceIds.length, released: d.released, failed } };
  });
}

/** Applies pause, resume, abort or rollback; 404 for unknown ids, 409 from a state that forbids it. */
export async function commandDeployment(
  deps: DeploymentDeps,
  id: string,
  command: RolloutCommand,
  by: string,
) {
  found(await deps.repos.deployments.get(id), `deployment ${id}`);
  await deps.rollouts.command(id, command, by);
  return deploymentStatus(deps, id);
}

const DEVICE_STATES = [
  "unreleased",
  "pending",
  "downloading",
  "verifying",
  "loading",
  "active",
  "failed",
  "rolled-back",
  "overridden",
] as const;

/** A deployment with waves, per-device state and counts per state. */
export async function deploymentStatus(deps: DeploymentReadDeps, id: string) {
  const deployment = found(await deps.repos.deployments.get(id), `deployment ${id}`);
  const contributing = await deps.repos.deployments.listContributing();
  const devices = new Map(
    (await deps.repos.devices.list({ ids: deployment.targetDeviceIds })).map((d) => [d.id, d]),
  );
  const counts: Record<string, number> = { targeted: deployment.targetDeviceIds.length };
  // Why each device named by the outcome did not end active (the controller's verdict).
  const notActive = new Map((deployment.outcome?.devices ?? []).map((x) => [x.deviceId, x]));
  for (const state of DEVICE_STATES) counts[state] = 0;
  const perDevice = deployment.targetDeviceIds.map((deviceId, index) => {
    const device = devices.get(deviceId);
    const reported = device?.reported?.modules.find((m) => m.name === deployment.moduleName);
    const state = deviceState(deployment, index, deviceId, contributing, reported);
    counts[state] = (counts[state] ?? 0) + 1;
    const why = notActive.get(deviceId);
    return {
      deviceId,
      online: device?.online ?? false,
      state,
      reportedVersion: reported?.version,
      error: reported?.error,
      servingVersion: reported?.servingVersion,
      ...(why ? { verdict: why.verdict, reason: why.reason } : {}),
    };
  });
  const skipped = await skippedFor(deps, deployment.id);
  counts.skipped = skipped.length;
  const now = deps.rollouts?.now() ?? new Date();
  const shadow = deployment.rollout.shadow ? await deps.rollouts?.shadowView(deployment) : undefined;
  return {
    ...deployment,
    // Shadow deployments: serving and candidate figures on the same requests, side by side.
    ...(shadow
      ? {
          shadow: {
            phase: deployment.rollout.shadow!.phase,
            ...(deployment.rollout.shadow!.phase === "scoring" && deployment.waveStartedAt
              ? {
                  judgedAt: new Date(
                    deployment.waveStartedAt.getTime() + deployment.rollout.shadow!.bakeMs,
                  ).toISOString(),
                }
              : {}),
            // The shadow gates: what promoted it, else the last judgement (a drop, or too few scored).
            gates:
              deployment.rollout.shadow!.verdict?.results ??
              (deployment.gateResults as { results?: unknown[] } | null)?.results ??
              [],
            ...shadow,
          },
        }
      : {}),
    counts,
    progress: progressOf(deployment, counts),
    waves: waveView(deployment, now),
    devices: perDevice,
    skipped,
  };
}

function deviceState(
  d: Deployment,
  index: number,
  deviceId: string,
  contributing: Deployment[],
  reported: { version: string; state: string } | undefined,
): (typeof DEVICE_STATES)[number] {
  if (index >= d.released) return "unreleased";
  if (d.status === "rolled-back") return "rolled-back";
  if (!contributing.some((c) => c.id === d.id)) return "pending";
  const winner = mergeLayers(layersFor(deviceId, contributing)).find((m) => m.name === d.moduleName);
  if (winner && winner.deploymentId !== d.id) return "overridden";
  if (!reported || reported.version !== d.moduleVersion) return "pending";
  return reported.state as (typeof DEVICE_STATES)[number];
}

/**
 * "active/targeted" progress: devices that run the version out of those targeted (never the
 * released count, which says nothing about whether a device took it), with the released count beside.
 */
export function progressOf(d: Deployment, counts: Record<string, number>) {
  return {
    active: counts.active ?? 0,
    targeted: d.targetDeviceIds.length,
    released: d.released,
    failed: (counts.failed ?? 0) + (counts["rolled-back"] ?? 0),
  };
}

/** Where a wave stands in the deployment's status view. */
export type WaveState = "passed" | "waiting" | "failed" | "settling" | "baking" | "releasing" | "stopped";

/** Each wave: its cumulative size, bake, and whether it is done, in progress or waiting. */
function waveView(d: Deployment, now: Date) {
  const counts = waveCounts(d.rollout, d.targetDeviceIds.length);
  const shadowing = d.rollout.shadow?.phase === "scoring";
  const rule = activationRule(d.rollout.gates);
  return d.rollout.waves.map((wave, index) => {
    const bakeEnds = d.bakeStartedAt ? d.bakeStartedAt.getTime() + wave.bakeMs : null;
    const state: WaveState = shadowing
      ? "waiting"
      : index < d.wave || (index === d.wave && (d.status === "completed" || d.status === "partially-applied"))
        ? "passed"
        : index > d.wave
          ? "waiting"
          : d.status === "rolled-back" && d.outcome?.reason === "gate-failed"
            ? "failed"
            : bakeEnds !== null && d.status === "active" && now.getTime() >= bakeEnds
              ? "settling"
              : d.bakeStartedAt
                ? "baking"
                : d.status === "active" || d.status === "paused"
                  ? "releasing"
                  : "stopped";
    const previous = index === 0 ? 0 : counts[index - 1]!;
    const released = Math.max(0, Math.min(d.released, counts[index]!) - previous);
    return {
      index,
      ...(wave.percent !== undefined ? { percent: wave.percent } : {}),
      ...(wave.count !== undefined ? { count: wave.count } : {}),
      devices: counts[index]! - previous,
      cumulative: counts[index]!,
      released,
      bakeMs: wave.bakeMs,
      state,
      ...(index === d.wave && d.bakeStartedAt
        ? {
            bakeEndsAt: new Date(bakeEnds!).toISOString(),
            // Past the bake, the gates wait for every released device to settle, until this time.
            activationDeadlineAt: new Date(
              d.bakeStartedAt.getTime() + rule.activationTimeoutMs,
            ).toISOString(),
          }
        : {}),
    };
  });
}

/** Which deployment supplied each module of a device's desired state, and what it overrode. */
export async function deviceMerge(deps: { repos: Pick<Repositories, "deployments"> }, deviceId: string) {
  return mergeLayers(layersFor(deviceId, await deps.repos.deployments.listContributing()));
}

/** Re-publishes every device's stored desired state (retained, same revision): idempotent, run at start. */
export async function republishDesired(deps: {
  repos: Pick<Repositories, "devices">;
  link: Pick<HubLink, "publishDesired">;
}): Promise<number> {
  const devices = await deps.repos.devices.list({});
  let count = 0;
  for (const device of devices) {
    if (!device.desired) continue;
    await deps.link.publishDesired(device.id, device.desired);
    count++;
  }
  return count;
}

/**
 * Reads what the gates need for one deployment: released devices' reported state for its module,
 * and telemetry of the new version (released devices, since the rollout began) and of the other
 * versions (all targets, from a look-back before the rollout: the baseline and the control group).
 */
import type { Db } from "../db/database.js";
import type { Deployment, Repositories } from "../repos/index.js";
import { rolloutWindows } from "../repos/rollout-telemetry.js";
import type { GateObservation } from "./gates.js";
import { addWindow, emptyAggregate } from "./stats.js";

/** How far before the rollout the baseline's telemetry reaches: 1 hour. */
export const BASELINE_LOOKBACK_MS = 3_600_000;

export interface ObserveDeps {
  db: Db;
  repos: Pick<Repositories, "devices">;
  /** Writes buffered telemetry so the gates see windows that already arrived. */
  flushTelemetry: () => Promise<void>;
}

/** Released device ids of a deployment, in release order. */
export function releasedIds(d: Deployment): string[] {
  return d.targetDeviceIds.slice(0, d.released);
}

/** Device-state part only (cheap): released count and failures. */
export async function observeDevices(
  deps: ObserveDeps,
  d: Deployment,
): Promise<{ released: number; failed: number }> {
  const ids = releasedIds(d);
  const devices = await deps.repos.devices.list({ ids });
  let failed = 0;
  for (const device of devices) {
    const entry = device.reported?.modules.find(
      (m) => m.name === d.moduleName && m.version === d.moduleVersion,
    );
    if (entry && (entry.state === "failed" || entry.state === "rolled-back")) failed++;
  }
  return { released: ids.length, failed };
}

/** Everything the gates look at. */
export async function observe(deps: ObserveDeps, d: Deployment): Promise<GateObservation> {
  await deps.flushTelemetry();
  const devices = await observeDevices(deps, d);
  const nextWindows = await rolloutWindows(deps.db, {
    module: d.moduleName,
    version: d.moduleVersion,
    deviceIds: releasedIds(d),
    since: d.createdAt,
  });
  const previousWindows = await rolloutWindows(deps.db, {
    module: d.moduleName,
    notVersion: d.moduleVersion,
    deviceIds: d.targetDeviceIds,
    since: new Date(d.createdAt.getTime() - BASELINE_LOOKBACK_MS),
  });
  return {
    ...devices,
    next: nextWindows.reduce(addWindow, emptyAggregate()),
    previous: previousWindows.reduce(addWindow, emptyAggregate()),
  };
}

/**
 * Reads what the gates need for one deployment: released devices' reported state for its module,
 * and telemetry of the new version (released devices, since the rollout began) and of the other
 * versions (all targets, from a look-back before the rollout: the baseline and the control group).
 */
import type { Db } from "../db/database.js";
import type { Deployment, Repositories } from "../repos/index.js";
import { rolloutWindows } from "../repos/rollout-telemetry.js";
import type { ReleasedDevice } from "./activation.js";
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

/** Device-state part only (cheap): released count and failures, for the early failures gate. */
export async function observeDevices(
  deps: ObserveDeps,
  d: Deployment,
): Promise<{ released: number; failed: number }> {
  const devices = await releasedDevices(deps, d);
  const failed = devices.filter(
    (r) =>
      r.reported?.version === d.moduleVersion &&
      (r.reported.state === "failed" || r.reported.state === "rolled-back"),
  ).length;
  return { released: devices.length, failed };
}

/** What the hub knows of each of these targets (default: the released ones), in release order. */
export async function releasedDevices(
  deps: ObserveDeps,
  d: Deployment,
  ids: readonly string[] = releasedIds(d),
): Promise<ReleasedDevice[]> {
  const rows = new Map((await deps.repos.devices.list({ ids: [...ids] })).map((row) => [row.id, row]));
  return ids.map((deviceId) => {
    const row = rows.get(deviceId);
    const reported = row?.reported?.modules.find((m) => m.name === d.moduleName);
    return {
      deviceId,
      online: row?.online ?? false,
      desired:
        row?.desired?.modules.some((m) => m.name === d.moduleName && m.version === d.moduleVersion) ?? false,
      reported: reported
        ? {
            version: reported.version,
            state: reported.state,
            ...(reported.error ? { error: reported.error } : {}),
          }
        : undefined,
    };
  });
}

/** Everything the gates look at; `devices` are the settled device counts of the wave being judged. */
export async function observe(
  deps: ObserveDeps,
  d: Deployment,
  devices: { released: number; failed: number },
): Promise<GateObservation> {
  await deps.flushTelemetry();
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

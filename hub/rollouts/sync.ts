/**
 * Desired-state sync: for each device, merge the layers of every contributing deployment that has
 * released to it, and when the result differs from the stored desired state, store the next
 * revision and publish it retained. Convergent and idempotent: running it twice changes nothing,
 * so the controller calls it after every persisted step and at start-up to repair a crash.
 */
import type { Logger } from "../../lib/log.js";
import { type DesiredModule, type DesiredState, PROTOCOL_VERSION } from "../../wire/messages.js";
import type { HubLink } from "../mqtt/hub-link.js";
import type { Deployment, Repositories } from "../repos/index.js";
import { type Layer, type MergedModule, mergeLayers } from "./merge.js";

/** Devices synced at the same time (count). */
const SYNC_CONCURRENCY = 16;

export interface SyncDeps {
  repos: Pick<Repositories, "devices" | "deployments" | "modules">;
  link: Pick<HubLink, "publishDesired">;
  urls: { api: string };
  log: Logger;
  now: () => Date;
}

/** Layers a device gets from these deployments: those that released to it. */
export function layersFor(deviceId: string, contributing: readonly Deployment[]): Layer[] {
  return contributing
    .filter((d) => {
      const index = d.targetDeviceIds.indexOf(deviceId);
      return index >= 0 && index < d.released;
    })
    .map((d) => ({
      deploymentId: d.id,
      moduleName: d.moduleName,
      moduleVersion: d.moduleVersion,
      priority: d.priority,
      createdAt: d.createdAt,
    }));
}

/** The merged module set of one device, with provenance (for GET /devices/{id}). */
export async function mergedFor(deps: Pick<SyncDeps, "repos">, deviceId: string): Promise<MergedModule[]> {
  return mergeLayers(layersFor(deviceId, await deps.repos.deployments.listContributing()));
}

export interface SyncResult {
  /** Devices that got a new desired revision. */
  changed: string[];
  failures: { deviceId: string; error: string }[];
}

/** Brings the desired state of these devices (or all) in line with the contributing deployments. */
export async function syncDevices(deps: SyncDeps, deviceIds: readonly string[] | "all"): Promise<SyncResult> {
  const contributing = await deps.repos.deployments.listContributing();
  const devices = await deps.repos.devices.list(deviceIds === "all" ? {} : { ids: [...deviceIds] });
  const artifacts = new Map<string, Promise<DesiredModule | null>>();
  const artifact = (name: string, version: string) => {
    const key = `${name}@${version}`;
    let entry = artifacts.get(key);
    if (!entry) {
      entry = deps.repos.modules.get(name, version).then((m) =>
        m
          ? {
              name: m.name,
              version: m.version,
              url: `${deps.urls.api}/api/v1/blobs/${m.tarballSha256}`,
              sha256: m.tarballSha256,
              size: m.tarballSize,
            }
          : null,
      );
      artifacts.set(key, entry);
    }
    return entry;
  };
  const result: SyncResult = { changed: [], failures: [] };
  const syncOne = async (device: (typeof devices)[number]) => {
    try {
      const merged = mergeLayers(layersFor(device.id, contributing));
      const modules: DesiredModule[] = [];
      for (const m of merged) {
        const entry = await artifact(m.name, m.version);
        if (entry) modules.push(entry);
      }
      if (device.desired === null && modules.length === 0) return;
      if (device.desired && sameModules(device.desired.modules, modules)) return;
      const desired = await deps.repos.devices.setDesired(
        device.id,
        ({ nextRevision }): DesiredState => ({
          protocol: PROTOCOL_VERSION,
          revision: nextRevision,
          issuedAt: deps.now().toISOString(),
          modules,
        }),
      );
      result.changed.push(device.id);
      await deps.link.publishDesired(device.id, desired);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      result.failures.push({ deviceId: device.id, error: message });
      deps.log.error({ event: "rollout.sync.failed", deviceId: device.id, error: message });
    }
  };
  // A few devices at a time: publishes wait on PUBACKs, and the store serialises writes anyway.
  let next = 0;
  const worker = async () => {
    while (next < devices.length) await syncOne(devices[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(SYNC_CONCURRENCY, devices.length) }, worker));
  return result;
}

function sameModules(a: readonly DesiredModule[], b: readonly DesiredModule[]): boolean {
  if (a.length !== b.length) return false;
  // The URL counts: a hub that moved must tell devices where modules are now.
  const key = (m: DesiredModule) => `${m.name}@${m.version}#${m.sha256}#${m.url}`;
  const left = a.map(key).sort();
  const right = b.map(key).sort();
  return left.every((k, i) => k === right[i]);
}

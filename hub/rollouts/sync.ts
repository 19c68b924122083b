/**
 * Desired-state sync: for each device, merge the layers of every contributing deployment that has
 * released to it, and when the result differs from the stored desired state, store the next
 * revision and publish it retained. Convergent and idempotent: running it twice changes nothing,
 * so the controller calls it after every persisted step and at start-up to repair a crash.
 */
import type { Logger } from "../../lib/log.js";
import { type DesiredModule, type DesiredState, PROTOCOL_VERSION } from "../../wire/messages.js";
import type { HubLink } from "../mqtt/hub-link.js";
import type { Deployment, DesiredOutcome, Repositories } from "../repos/index.js";
import { type Layer, type MergedModule, mergeLayers } from "./merge.js";

/**
 * Devices whose next desired revisions one transaction stores: a wave of a thousand devices is a
 * few transactions, not a thousand (one per device cost more than the rest of the rollout).
 */
const WRITE_CHUNK = 250;
/** Retained publishes of one chunk waiting for PUBACK at the same time (count). */
const PUBLISH_CONCURRENCY = 64;

export interface SyncDeps {
  repos: Pick<Repositories, "devices" | "deployments" | "modules">;
  link: Pick<HubLink, "publishDesired">;
  urls: { api: string };
  log: Logger;
  now: () => Date;
}

/**
 * Position of each target in a deployment's list, built once per list: syncing or viewing a
 * thousand devices asks for every device, and scanning the list each time was quadratic.
 */
const targetIndexes = new WeakMap<readonly string[], Map<string, number>>();

function targetIndex(targets: readonly string[], deviceId: string): number {
  let index = targetIndexes.get(targets);
  if (!index) {
    index = new Map();
    // The first position, as indexOf gives.
    for (let i = targets.length - 1; i >= 0; i--) index.set(targets[i]!, i);
    targetIndexes.set(targets, index);
  }
  return index.get(deviceId) ?? -1;
}

/** Layers a device gets from these deployments: those that released to it. */
export function layersFor(deviceId: string, contributing: readonly Deployment[]): Layer[] {
  return contributing
    .filter((d) => {
      // A candidate being shadow-scored is not served: it rides on the serving entry (shadowsFor).
      if (isShadowing(d)) return false;
      const index = targetIndex(d.targetDeviceIds, deviceId);
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

/** Whether a deployment is in its shadow-scoring phase. */
export function isShadowing(d: Deployment): boolean {
  return d.rollout.shadow?.phase === "scoring";
}

/** Candidate versions by module name that shadow-scoring deployments give a device (newest wins). */
export function shadowsFor(deviceId: string, contributing: readonly Deployment[]): Map<string, string> {
  const shadows = new Map<string, { version: string; at: number }>();
  for (const d of contributing) {
    if (!isShadowing(d) || (d.status !== "active" && d.status !== "paused")) continue;
    if (targetIndex(d.targetDeviceIds, deviceId) < 0) continue;
    const seen = shadows.get(d.moduleName);
    if (!seen || seen.at < d.createdAt.getTime())
      shadows.set(d.moduleName, { version: d.moduleVersion, at: d.createdAt.getTime() });
  }
  return new Map([...shadows].map(([name, s]) => [name, s.version]));
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
  const devices = await deps.repos.devices.listDesired(deviceIds === "all" ? {} : { ids: [...deviceIds] });
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
  const fail = (deviceId: string, error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    result.failures.push({ deviceId, error: message });
    deps.log.error({ event: "rollout.sync.failed", deviceId, error: message });
  };

  // What each device should have; only the devices whose module set differs get a new revision.
  const pending: { id: string; modules: DesiredModule[] }[] = [];
  for (const device of devices) {
    try {
      const modules: DesiredModule[] = [];
      const shadows = shadowsFor(device.id, contributing);
      for (const m of mergeLayers(layersFor(device.id, contributing))) {
        const entry = await artifact(m.name, m.version);
        if (!entry) continue;
        const candidate = shadows.get(m.name);
        const shadow = candidate && candidate !== m.version ? await artifact(m.name, candidate) : null;
        modules.push(
          shadow
            ? {
                ...entry,
                shadow: {
                  version: shadow.version,
                  url: shadow.url,
                  sha256: shadow.sha256,
                  size: shadow.size,
                },
              }
            : entry,
        );
      }
      if (device.desired === null && modules.length === 0) continue;
      if (device.desired && sameModules(device.desired.modules, modules)) continue;
      pending.push({ id: device.id, modules });
    } catch (error) {
      fail(device.id, error);
    }
  }

  // Chunk by chunk: one transaction stores the next revisions, then the chunk is published
  // (retained, after the commit) while the next chunk is written.
  const publishing: Promise<void>[] = [];
  for (let start = 0; start < pending.length; start += WRITE_CHUNK) {
    const chunk = pending.slice(start, start + WRITE_CHUNK);
    let outcomes: DesiredOutcome[];
    try {
      outcomes = await deps.repos.devices.setDesiredMany(
        chunk.map(({ id, modules }) => ({
          id,
          build: ({ nextRevision }): DesiredState => ({
            protocol: PROTOCOL_VERSION,
            revision: nextRevision,
            issuedAt: deps.now().toISOString(),
            modules,
          }),
        })),
      );
    } catch (error) {
      for (const { id } of chunk) fail(id, error);
      continue;
    }
    const stored: { id: string; desired: DesiredState }[] = [];
    for (const outcome of outcomes) {
      if (!outcome.ok) fail(outcome.id, outcome.error);
      else {
        result.changed.push(outcome.id);
        stored.push(outcome);
      }
    }
    publishing.push(publishAll(deps, stored, fail));
  }
  await Promise.all(publishing);
  return result;
}

/** Publishes stored desired states, a bounded number waiting for PUBACK at once. */
async function publishAll(
  deps: Pick<SyncDeps, "link">,
  stored: readonly { id: string; desired: DesiredState }[],
  fail: (deviceId: string, error: unknown) => void,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < stored.length) {
      const { id, desired } = stored[next++]!;
      await deps.link.publishDesired(id, desired).catch((error: unknown) => fail(id, error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(PUBLISH_CONCURRENCY, stored.length) }, worker));
}

function sameModules(a: readonly DesiredModule[], b: readonly DesiredModule[]): boolean {
  if (a.length !== b.length) return false;
  // The URL counts: a hub that moved must tell devices where modules are now.
  const key = (m: DesiredModule) =>
    `${m.name}@${m.version}#${m.sha256}#${m.url}#${m.shadow ? `${m.shadow.version}#${m.shadow.sha256}` : ""}`;
  const left = a.map(key).sort();
  const right = b.map(key).sort();
  return left.every((k, i) => k === right[i]);
}

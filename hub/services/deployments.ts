/**
 * Deployments: resolve a selector to devices, write each device's next desired state (a new
 * revision with the module set to the deployed version), then publish it retained over MQTT.
 * Strategy "all-at-once" only; waves and gates come with the rollout controller.
 */
import type { DesiredModule, DesiredState } from "../../wire/messages.js";
import { PROTOCOL_VERSION } from "../../wire/messages.js";
import type { HubContext } from "../context.js";
import { preflightTargets } from "../fleet/preflight-targets.js";
import { recordSkipped, skippedFor } from "../fleet/skipped.js";
import { ApiError, found } from "../http/errors.js";

export interface DeployRequest {
  module: string;
  version: string;
  selector: { deviceIds?: string[]; tags?: Record<string, string> };
  strategy: "all-at-once";
  createdBy: string;
}

/** Creates a deployment and sets the desired state of every targeted device. */
export async function deployModule(hub: HubContext, request: DeployRequest) {
  const module = found(
    await hub.repos.modules.get(request.module, request.version),
    `module ${request.module}@${request.version}`,
  );
  const resolved = await resolveTargets(hub, request.selector);
  // Preflight first: an incompatible device is skipped whole, before any desired state is written.
  const { eligible: targets, skipped } = await preflightTargets(hub, resolved, module);
  if (targets.length === 0) {
    throw new ApiError("bad_request", "no targeted device passes preflight", { skipped });
  }
  const entry: DesiredModule = {
    name: module.name,
    version: module.version,
    url: `${hub.urls.api}/api/v1/blobs/${module.tarballSha256}`,
    sha256: module.tarballSha256,
    size: module.tarballSize,
  };
  const deployment = await hub.repos.deployments.create({
    moduleName: module.name,
    moduleVersion: module.version,
    selector: request.selector,
    strategy: request.strategy,
    targetDeviceIds: targets,
    createdBy: request.createdBy,
  });
  await recordSkipped(hub, deployment, skipped);
  const published = await Promise.allSettled(
    targets.map(async (deviceId) => {
      const desired = await hub.repos.devices.setDesired(deviceId, ({ current, nextRevision }) =>
        withModule(current, entry, nextRevision),
      );
      await hub.link.publishDesired(deviceId, desired);
    }),
  );
  const failures = published.flatMap((p, i) =>
    p.status === "rejected" ? [{ deviceId: targets[i], error: String(p.reason) }] : [],
  );
  for (const failure of failures)
    hub.log.error({ event: "deployment.publish.failed", deploymentId: deployment.id, ...failure });
  hub.log.info({
    event: "deployment.created",
    deploymentId: deployment.id,
    module: module.name,
    version: module.version,
    targets: targets.length,
    skipped: skipped.length,
  });
  return { ...deployment, skipped, publishFailures: failures };
}

/** The next desired state: same modules, this one set to the deployed version. */
export function withModule(
  current: DesiredState | null,
  entry: DesiredModule,
  revision: number,
): DesiredState {
  const modules = (current?.modules ?? []).filter((m) => m.name !== entry.name);
  modules.push(entry);
  modules.sort((a, b) => a.name.localeCompare(b.name));
  return {
    protocol: PROTOCOL_VERSION,
    revision,
    issuedAt: new Date().toISOString(),
    modules,
  };
}

async function resolveTargets(hub: HubContext, selector: DeployRequest["selector"]): Promise<string[]> {
  if (selector.deviceIds) {
    const found = await hub.repos.devices.list({ ids: selector.deviceIds, tags: selector.tags });
    const foundIds = new Set(found.map((d) => d.id));
    const unknown = selector.deviceIds.filter((id) => !foundIds.has(id));
    if (unknown.length > 0 && !selector.tags) {
      throw new ApiError("bad_request", `unknown devices: ${unknown.join(", ")}`, { unknown });
    }
    if (found.length === 0) throw new ApiError("bad_request", "the selector matches no devices");
    return found.map((d) => d.id).sort();
  }
  const found = await hub.repos.devices.list({ tags: selector.tags });
  if (found.length === 0) throw new ApiError("bad_request", "the selector matches no devices");
  return found.map((d) => d.id).sort();
}

const COUNTED_STATES = ["downloading", "verifying", "loading", "active", "failed", "rolled-back"] as const;

/** A deployment with each target's state for its module, and counts per state. */
export async function deploymentStatus(hub: HubContext, id: string) {
  const deployment = found(await hub.repos.deployments.get(id), `deployment ${id}`);
  const devices = await hub.repos.devices.list({ ids: deployment.targetDeviceIds });
  const counts: Record<string, number> = { targeted: deployment.targetDeviceIds.length, pending: 0 };
  for (const state of COUNTED_STATES) counts[state] = 0;
  const perDevice = devices.map((device) => {
    const reported = device.reported?.modules.find((m) => m.name === deployment.moduleName);
    const state = reported && reported.version === deployment.moduleVersion ? reported.state : "pending";
    counts[state] = (counts[state] ?? 0) + 1;
    return {
      deviceId: device.id,
      online: device.online,
      state,
      error: reported?.error,
      servingVersion: reported?.servingVersion,
    };
  });
  const skipped = await skippedFor(hub, deployment.id);
  counts.skipped = skipped.length;
  return { ...deployment, counts, devices: perDevice, skipped };
}

/** Re-publishes every device's stored desired state (retained, same revision): idempotent, run at start. */
export async function republishDesired(hub: HubContext): Promise<number> {
  const devices = await hub.repos.devices.list({});
  let count = 0;
  for (const device of devices) {
    if (!device.desired) continue;
    await hub.link.publishDesired(device.id, device.desired);
    count++;
  }
  return count;
}

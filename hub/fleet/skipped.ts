/**
 * Where a deployment's skipped devices are kept: one `deployment.skipped` device event per device
 * (details carry the deployment id and reasons), so the timeline shows it and no schema change is
 * needed. The rollout controller may move this into its own table; callers only use these two.
 */
import type { Repositories } from "../repos/index.js";
import type { SkippedDevice } from "./preflight-targets.js";

export const SKIPPED_EVENT = "deployment.skipped";

/** Records why each device was skipped by a deployment. */
export async function recordSkipped(
  deps: { repos: Pick<Repositories, "events"> },
  deployment: { id: string; moduleName: string; moduleVersion: string },
  skipped: readonly SkippedDevice[],
): Promise<void> {
  const at = new Date();
  for (const entry of skipped) {
    await deps.repos.events.insert({
      deviceId: entry.deviceId,
      kind: SKIPPED_EVENT,
      module: deployment.moduleName,
      version: deployment.moduleVersion,
      message: `skipped by deployment ${deployment.id}: ${entry.reasons.join("; ")}`,
      details: { deploymentId: deployment.id, reasons: entry.reasons },
      at,
    });
  }
}

/** The devices a deployment skipped, with reasons, ordered by device id. */
export async function skippedFor(
  deps: { repos: Pick<Repositories, "events"> },
  deploymentId: string,
): Promise<SkippedDevice[]> {
  const events = await deps.repos.events.listByDetails(SKIPPED_EVENT, { deploymentId });
  return events
    .map((e) => ({
      deviceId: e.deviceId,
      reasons: (e.details?.reasons as string[] | undefined) ?? [e.message],
    }))
    .sort((a, b) => a.deviceId.localeCompare(b.deviceId));
}

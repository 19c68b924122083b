/**
 * deploy: a canary deployment of the packaged module through the deployments service (preflight,
 * gates, rollback), followed to its end. The step completes only when the deployment completed
 * (every wave baked, gates passed); rolled back, aborted or superseded, it fails with the outcome.
 */
import { deployModule } from "../../services/deployments.js";
import { pollUntil } from "../wait.js";
import { type StepDefinition, StepFailure } from "./types.js";

const WAITING = new Set(["active", "paused"]);

export const deployStep: StepDefinition = {
  async inputs({ pipeline, outputs }) {
    const { selector, canary, bakeMs, gates } = pipeline.spec.steps.deploy!;
    const pkg = outputs.package as { module: string; version: string; sha256: string };
    return {
      module: { name: pkg.module, version: pkg.version, sha256: pkg.sha256 },
      selector,
      canary,
      bakeMs: bakeMs ?? null,
      gates: gates ?? null,
    };
  },

  async run(ctx, inputs) {
    const { deps, pipeline, step } = ctx;
    const { selector, canary, bakeMs, gates } = pipeline.spec.steps.deploy!;
    const module = inputs.module as { name: string; version: string };
    let deploymentId = step.progress?.deploymentId as string | undefined;
    if (!deploymentId) {
      const deployment = await deployModule(deps, {
        module: module.name,
        version: module.version,
        selector,
        strategy: "canary",
        canary,
        ...(bakeMs !== undefined ? { bakeMs } : {}),
        ...(gates ? { gates } : {}),
        createdBy: `pipeline:${pipeline.name}`,
      });
      deploymentId = deployment.id;
      await ctx.setProgress({ deploymentId });
    }
    const ended = await pollUntil(deps.clock, deps.pollMs, ctx.signal, async () => {
      const row = await deps.repos.deployments.get(deploymentId);
      if (!row) throw new StepFailure(`deployment ${deploymentId} no longer exists`);
      return WAITING.has(row.status) ? undefined : row;
    });
    if (ended.status !== "completed") {
      const why = ended.outcome ? `: ${ended.outcome.message}` : "";
      throw new StepFailure(`canary deployment ${deploymentId} ${ended.status}${why}`);
    }
    return {
      deploymentId,
      module: module.name,
      version: module.version,
      targets: ended.targetDeviceIds.length,
    };
  },

  async stillThere(deps, output) {
    // Reused only while that deployment stands completed (not superseded by a later one).
    const row = await deps.repos.deployments.get(output.deploymentId as string);
    return row?.status === "completed";
  },
};

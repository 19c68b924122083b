/**
 * Carries out the planner's actions (plan.ts): the side effect first (a command to devices, a
 * blob and a run, a module version, a deployment, the alias, a rollback), then the step is
 * persisted with its event. A crash in between repeats the step on the next pass, which finds
 * what the effect left behind (observe.ts) and adopts it.
 */
import type { Clock } from "../../lib/clock.js";
import type { Logger } from "../../lib/log.js";
import { COLLECT_SAMPLES } from "../../wire/commands.js";
import type { RetrainSettings } from "../db/schema/drift.js";
import type { DriftStore } from "../monitors/store.js";
import type { Monitor } from "../repos/monitors.js";
import { commandDeployment, deployModule } from "../services/deployments.js";
import { packageTrainedModel } from "./package.js";
import {
  type Action,
  type Advance,
  recordDeployed,
  recordPackaged,
  recordRequested,
  recordRunSubmitted,
} from "./plan.js";
import type { RetrainingHub } from "./ports.js";
import { CycleFailure } from "./retry.js";
import type { CycleState } from "./state.js";

export interface ActDeps {
  hub: RetrainingHub;
  store: DriftStore;
  clock: Clock;
  log: Logger;
  /** POST /runs in process (the job service's submit). */
  submitRun(body: unknown): Promise<{ id: string }>;
}

/** What an action acts on: the cycle, its monitor and (but for a canary) the settings. */
export interface ActTarget {
  cycleId: string;
  state: CycleState;
  monitor: Monitor;
  settings: RetrainSettings | null;
}

/** Does what `action` says; a `fail` action throws the verdict (the driver ends the cycle). */
export async function act(deps: ActDeps, target: ActTarget, action: Action): Promise<void> {
  const { hub } = deps;
  const { monitor, state } = target;
  switch (action.kind) {
    case "wait":
      return;
    case "fail":
      throw new CycleFailure(action.message);
    case "advance":
      return persist(deps, target.cycleId, action.advance);
    case "request-samples": {
      const sent: string[] = [];
      for (const deviceId of action.devices) {
        try {
          await hub.link.publishCommand(deviceId, COLLECT_SAMPLES, action.command);
          sent.push(deviceId);
        } catch (error) {
          deps.log.warn({ event: "retraining.command_failed", deviceId, error: (error as Error).message });
        }
      }
      return act(deps, target, recordRequested(target.settings!, action.command, sent, deps.clock.now()));
    }
    case "submit-run": {
      const { submission } = action;
      const jsonl = `${submission.trainRows.map((row) => JSON.stringify(row)).join("\n")}\n`;
      const blob = await hub.blobs.put(Buffer.from(jsonl));
      const run = await deps.submitRun({ ...submission.body, extraRows: { blob: blob.sha256 } });
      return persist(
        deps,
        target.cycleId,
        recordRunSubmitted(submission, target.settings!, run.id, blob.sha256),
      );
    }
    case "package": {
      const module = await packageTrainedModel(hub, action.model, action.version, action.options);
      return persist(deps, target.cycleId, recordPackaged(monitor, state, module));
    }
    case "deploy": {
      const deployment = await deployModule(hub, action.request);
      return persist(deps, target.cycleId, recordDeployed(monitor, state, deployment));
    }
    case "promote":
      // Both writes are idempotent: a crash before the step is recorded repeats them harmlessly.
      await hub.repos.models.setAlias(action.model, "champion", action.challenger);
      await deps.store.monitors.update(monitor.id, { moduleVersion: action.moduleVersion, state: "no-data" });
      return persist(deps, target.cycleId, action.advance);
    case "rollback":
      await commandDeployment(hub, action.deploymentId, "rollback", action.by);
      return persist(deps, target.cycleId, action.advance);
  }
}

/** Persists a step: the cycle's status and state, and its event. */
export async function persist(deps: ActDeps, cycleId: string, advance: Advance): Promise<void> {
  await deps.store.retraining.advance(cycleId, advance);
}

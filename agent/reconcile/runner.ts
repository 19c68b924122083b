/**
 * Executes a plan's commands in order. Transient errors (network, a busy disk) retry the same
 * command with exponential back-off; permanent ones (bad hash or signature, a model that does not
 * load) fail the module at once, and the version that was serving keeps serving. Each module ends
 * with one outcome from a closed set. A run that learns it was superseded (a newer desired revision
 * arrived) stops between commands, drops what it staged, and reports nothing more.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { isTransient as isTransientError } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import type { DesiredModule } from "../../wire/messages.js";
import type { Command, CommandKind, Plan } from "./plan.js";
import type { Reporter } from "./reporter.js";

export type ModuleOutcome = "succeeded" | "failed-no-change" | "failed-rolled-back" | "rejected";

export interface ModuleResult {
  name: string;
  version: string;
  outcome: ModuleOutcome;
  error?: string;
  /** For failures: whether retrying the same tarball could help (drives the planner's back-off). */
  permanent?: boolean;
  /** Module sha256, for failure records. */
  sha256?: string;
}

export interface RunResult {
  revision: number;
  /** True when a newer revision took over before the run finished; results are partial. */
  superseded: boolean;
  modules: ModuleResult[];
}

/** The side effects behind each command; the real ones live in effects.ts. */
export interface ReconcileEffects {
  download(module: DesiredModule, signal: AbortSignal): Promise<void>;
  unpack(module: DesiredModule, signal: AbortSignal): Promise<void>;
  /** Loads and warms up the version and keeps it staged (not serving) until activate. */
  load(module: DesiredModule, signal: AbortSignal): Promise<void>;
  /** Makes the staged version serve and records it; throws RolledBackError when it had to undo that. */
  activate(module: DesiredModule): Promise<void>;
  dispose(name: string, version: string): Promise<void>;
  cleanup(name: string): Promise<void>;
  remove(name: string, version: string): Promise<void>;
  /** Releases staged versions never activated and replaced ones not yet disposed (end of a run, failures). */
  releaseUnused(): Promise<void>;
  /** The version serving now for a name, if any. */
  servingVersion(name: string): string | null;
}

/** Activation happened and had to be undone; the previous version serves again. */
export class RolledBackError extends Error {
  override readonly name = "RolledBackError";
}

export interface RetryPolicy {
  /** Tries per command for transient errors, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** 4 tries at 1 s, 2 s, 4 s: enough to ride out a hub restart without stalling the queue for long. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 1000, maxDelayMs: 30_000 };

export interface RunContext {
  effects: ReconcileEffects;
  reporter: Reporter;
  log: Logger;
  /** Aborted when a newer desired revision supersedes this run. */
  signal: AbortSignal;
  retry?: RetryPolicy;
  /** Progress and error events for the hub's timeline. */
  emit?: (event: { kind: string; module?: string; version?: string; message: string }) => void;
}

/** Command kinds after which a failure leaves the device exactly as it was. */
const STATE_OF: Partial<Record<CommandKind, "downloading" | "verifying" | "loading">> = {
  download: "downloading",
  unpack: "verifying",
  load: "loading",
};

/** Runs a plan's commands in order and returns one outcome per module it touched. */
export async function runPlan(plan: Plan, context: RunContext): Promise<RunResult> {
  const { effects, reporter, log, signal } = context;
  const emit = context.emit ?? (() => {});
  const results = new Map<string, ModuleResult>();
  for (const rejected of plan.rejected) {
    results.set(rejected.name, { ...rejected, outcome: "rejected", error: rejected.reason, permanent: true });
    emit({
      kind: "module.rejected",
      module: rejected.name,
      version: rejected.version,
      message: rejected.reason,
    });
  }
  settleAbandoned(effects, reporter);
  for (const { module, reason } of plan.deferred) {
    // After a restart the reporter only knows what serves; say again why the target is not there.
    const entry = reporter.get(module.name);
    if (entry?.version !== module.version || (entry.state !== "failed" && entry.state !== "rolled-back")) {
      const servingVersion = effects.servingVersion(module.name);
      reporter.set(module.name, { version: module.version, state: "failed", servingVersion, error: reason });
    }
  }
  const failed = new Set<string>();
  try {
    for (const command of plan.commands) {
      if (signal.aborted)
        return { revision: plan.revision, superseded: true, modules: [...results.values()] };
      const name = commandModule(command);
      if (failed.has(name)) continue;
      const state = STATE_OF[command.kind];
      if (state !== undefined && "module" in command) {
        const module = command.module;
        const serving = effects.servingVersion(name);
        if (reporter.get(name)?.state !== state) {
          reporter.set(name, { version: module.version, state, servingVersion: serving });
        }
      }
      try {
        await withRetry(command, () => execute(effects, command, signal), context);
      } catch (error) {
        if (signal.aborted)
          return { revision: plan.revision, superseded: true, modules: [...results.values()] };
        if (command.kind === "dispose" || command.kind === "cleanup") {
          // The new version already serves; leftovers are retried by the next cleanup, not a failure.
          log.warn({
            event: "reconcile.housekeeping_failed",
            command: command.kind,
            module: name,
            err: error,
          });
          continue;
        }
        failed.add(name);
        await effects.releaseUnused();
        const result = fail(command, error, effects, reporter);
        results.set(name, result);
        log.warn({
          event: "module.failed",
          module: name,
          version: result.version,
          outcome: result.outcome,
          error: result.error,
        });
        emit({
          kind: "module.failed",
          module: name,
          version: result.version,
          message: result.error ?? "failed",
        });
        continue;
      }
      if (command.kind === "activate") {
        const { module } = command;
        reporter.set(name, { version: module.version, state: "active", servingVersion: module.version });
        results.set(name, { name, version: module.version, sha256: module.sha256, outcome: "succeeded" });
        log.info({
          event: "module.activated",
          module: name,
          version: module.version,
          previous: command.previousVersion,
        });
        emit({
          kind: "module.activated",
          module: name,
          version: module.version,
          message: `${name}@${module.version} is serving`,
        });
      } else if (command.kind === "remove") {
        reporter.delete(name);
        results.set(name, { name, version: command.version, outcome: "succeeded" });
        emit({ kind: "module.removed", module: name, version: command.version, message: `${name} removed` });
      }
    }
  } finally {
    await effects.releaseUnused();
  }
  forgetUndesired(plan, effects, reporter);
  return { revision: plan.revision, superseded: false, modules: [...results.values()] };
}

const IN_PROGRESS = new Set(["downloading", "verifying", "loading"]);

/** Entries a superseded run left mid-attempt go back to what actually serves (or away). */
function settleAbandoned(effects: ReconcileEffects, reporter: Reporter): void {
  for (const entry of reporter.entries()) {
    if (!IN_PROGRESS.has(entry.state)) continue;
    const serving = effects.servingVersion(entry.name);
    if (serving === null) reporter.delete(entry.name);
    else reporter.set(entry.name, { version: serving, state: "active", servingVersion: serving });
  }
}

/** After a complete run, a module neither desired nor serving (e.g. one that only failed) is not reported. */
function forgetUndesired(plan: Plan, effects: ReconcileEffects, reporter: Reporter): void {
  const desired = new Set([
    ...plan.diff.added.map((m) => m.name),
    ...plan.diff.updated.map((u) => u.to.name),
    ...plan.diff.unchanged.map((m) => m.name),
    ...plan.deferred.map((d) => d.module.name),
  ]);
  for (const entry of reporter.entries()) {
    if (!desired.has(entry.name) && effects.servingVersion(entry.name) === null) reporter.delete(entry.name);
  }
}

function fail(command: Command, error: unknown, effects: ReconcileEffects, reporter: Reporter): ModuleResult {
  const name = commandModule(command);
  const message = (error as Error).message ?? String(error);
  const version = "module" in command ? command.module.version : "version" in command ? command.version : "";
  const serving = effects.servingVersion(name);
  const rolledBack = error instanceof RolledBackError;
  if (command.kind !== "remove") {
    reporter.set(name, {
      version,
      state: rolledBack ? "rolled-back" : "failed",
      servingVersion: serving,
      error: message,
    });
  }
  const result: ModuleResult = {
    name,
    version,
    outcome: rolledBack ? "failed-rolled-back" : "failed-no-change",
    error: message,
    permanent: !isTransient(command.kind, error),
  };
  if ("module" in command) result.sha256 = command.module.sha256;
  return result;
}

async function execute(effects: ReconcileEffects, command: Command, signal: AbortSignal): Promise<void> {
  switch (command.kind) {
    case "download":
      return effects.download(command.module, signal);
    case "unpack":
      return effects.unpack(command.module, signal);
    case "load":
      return effects.load(command.module, signal);
    case "activate":
      return effects.activate(command.module);
    case "dispose":
      return effects.dispose(command.name, command.version);
    case "cleanup":
      return effects.cleanup(command.name);
    case "remove":
      return effects.remove(command.name, command.version);
  }
}

async function withRetry(command: Command, action: () => Promise<void>, context: RunContext): Promise<void> {
  const policy = context.retry ?? DEFAULT_RETRY;
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (attempt >= policy.attempts || !isTransient(command.kind, error) || context.signal.aborted)
        throw error;
      const delayMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      context.log.info({
        event: "reconcile.retry",
        command: command.kind,
        module: commandModule(command),
        attempt,
        delayMs,
        error: (error as Error).message,
      });
      await sleep(delayMs, undefined, { signal: context.signal });
    }
  }
}

/**
 * Errors that say so carry `transient` (lib/errors.ts); otherwise downloads are transient (the
 * network) and everything after them is permanent, since a bad tarball or model stays bad when retried.
 */
export function isTransient(kind: CommandKind, error: unknown): boolean {
  return isTransientError(error, kind === "download");
}

function commandModule(command: Command): string {
  return "module" in command ? command.module.name : command.name;
}

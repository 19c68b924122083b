/**
 * The reconcile planner: a pure function from (desired, current, now) to the commands that bring the
 * device to the desired module set. No I/O and no clock (the caller passes `now`), so every decision
 * the agent makes is a value a test can compare.
 *
 * Order: every download first, then every verification/unpack, so a bad or unreachable tarball is
 * found before anything that serves traffic is touched; then, per module, make-before-break:
 * load (+warm up) → activate → dispose the old version → clean up old files; removals last.
 */

import { ModuleNameSchema, SemverSchema } from "../../modules/manifest.js";
import type { DesiredModule, DesiredState } from "../../wire/messages.js";

/** A module version serving now. */
export interface ActiveModule {
  name: string;
  version: string;
  /** sha256 of the tarball it came from, when known. */
  sha256?: string;
}

/** A version that failed before; the planner will not retry it until `retryAt`. */
export interface FailedAttempt {
  name: string;
  version: string;
  sha256: string;
  reason: string;
  /** Permanent failures (bad hash, bad signature, load failure) are never retried for the same tarball. */
  permanent: boolean;
  attempts: number;
  /** Epoch ms after which a transient failure may be retried; null for permanent ones. */
  retryAt: number | null;
  /**
   * Desired revision the failure was recorded at (null in state files from before it was kept). A
   * permanent failure holds for redeliveries of that revision; a newer one (the operator deployed
   * again) is a new attempt, so a device is never stranded on a version by one bad download.
   */
  revision: number | null;
}

/** What the device has now, as the state store and serving table know it. */
export interface CurrentState {
  /** Highest desired revision already acted on; null on a fresh device. */
  appliedRevision: number | null;
  active: ActiveModule[];
  /** Versions already verified and unpacked on disk (the previous version kept for rollback, mostly). */
  unpacked: Array<{ name: string; version: string }>;
  failures: FailedAttempt[];
}

export interface PlanOptions {
  /** Current time in epoch ms; the only notion of time the planner has. */
  now: number;
}

/** The named difference between desired and current. */
export interface ModuleDiff {
  added: DesiredModule[];
  removed: ActiveModule[];
  updated: Array<{ from: ActiveModule; to: DesiredModule }>;
  unchanged: DesiredModule[];
}

export type Command =
  | { kind: "download"; module: DesiredModule }
  | { kind: "unpack"; module: DesiredModule }
  | { kind: "load"; module: DesiredModule }
  | { kind: "activate"; module: DesiredModule; previousVersion: string | null }
  | { kind: "dispose"; name: string; version: string }
  | { kind: "cleanup"; name: string }
  | { kind: "remove"; name: string; version: string };

export type CommandKind = Command["kind"];

/** A desired module left alone this time because its last attempt failed. */
export interface DeferredModule {
  module: DesiredModule;
  reason: string;
  /** When the worker should plan again for it; null = not until the hub sends another tarball. */
  retryAt: number | null;
}

/** A desired entry the agent refuses outright; it changes nothing on the device. */
export interface RejectedModule {
  name: string;
  version: string;
  reason: string;
}

export interface Plan {
  revision: number;
  /** True when the revision is older than the applied one: the plan does nothing. */
  stale: boolean;
  diff: ModuleDiff;
  commands: Command[];
  deferred: DeferredModule[];
  rejected: RejectedModule[];
}

/** Computes the commands that move `current` to `desired`; pure. */
export function plan(desired: DesiredState, current: CurrentState, options: PlanOptions): Plan {
  const empty: ModuleDiff = { added: [], removed: [], updated: [], unchanged: [] };
  if (current.appliedRevision !== null && desired.revision < current.appliedRevision) {
    return { revision: desired.revision, stale: true, diff: empty, commands: [], deferred: [], rejected: [] };
  }
  const { accepted, rejected } = screen(desired.modules);
  const rejectedNames = new Set(rejected.map((entry) => entry.name));
  const diff = diffModules(accepted, current.active, rejectedNames);

  const deferred: DeferredModule[] = [];
  // In desired-state order, so the hub decides which module goes first.
  const fromOf = new Map(diff.updated.map(({ from, to }) => [to, from]));
  const toApply = accepted
    .filter((module) => diff.added.includes(module) || fromOf.has(module))
    .map((module) => ({ module, from: fromOf.get(module) ?? null }));
  const applying = toApply.filter(({ module }) => {
    const failure = current.failures.find(
      (f) => f.name === module.name && f.version === module.version && f.sha256 === module.sha256,
    );
    if (failure === undefined) return true;
    if (!failure.permanent && failure.retryAt !== null && failure.retryAt <= options.now) return true;
    if (failure.permanent && failure.revision !== null && desired.revision > failure.revision) return true;
    deferred.push({ module, reason: failure.reason, retryAt: failure.permanent ? null : failure.retryAt });
    return false;
  });

  const onDisk = new Set(current.unpacked.map((entry) => `${entry.name}@${entry.version}`));
  const fetching = applying.filter(({ module }) => !onDisk.has(`${module.name}@${module.version}`));
  const commands: Command[] = [
    ...fetching.map(({ module }): Command => ({ kind: "download", module })),
    ...fetching.map(({ module }): Command => ({ kind: "unpack", module })),
  ];
  for (const { module, from } of applying) {
    commands.push({ kind: "load", module });
    commands.push({ kind: "activate", module, previousVersion: from?.version ?? null });
    if (from !== null) commands.push({ kind: "dispose", name: from.name, version: from.version });
    commands.push({ kind: "cleanup", name: module.name });
  }
  for (const module of diff.removed)
    commands.push({ kind: "remove", name: module.name, version: module.version });
  return { revision: desired.revision, stale: false, diff, commands, deferred, rejected };
}

/** Splits desired entries into the ones the device can act on and the ones it refuses. */
function screen(modules: DesiredModule[]): { accepted: DesiredModule[]; rejected: RejectedModule[] } {
  const accepted: DesiredModule[] = [];
  const rejected: RejectedModule[] = [];
  const counts = new Map<string, number>();
  for (const module of modules) counts.set(module.name, (counts.get(module.name) ?? 0) + 1);
  for (const module of modules) {
    // Names and versions become folder names under the data folder: they must be safe path segments.
    const reason = !ModuleNameSchema.safeParse(module.name).success
      ? "module name is not valid (lowercase letters, digits, '.', '_' or '-')"
      : !SemverSchema.safeParse(module.version).success
        ? "version is not a semantic version"
        : (counts.get(module.name) ?? 0) > 1
          ? "module appears more than once in the desired state"
          : null;
    if (reason === null) accepted.push(module);
    else rejected.push({ name: module.name, version: module.version, reason });
  }
  return { accepted, rejected };
}

/** Named diff by module name; a rejected name is neither added nor removed (it stays as it is). */
function diffModules(
  desired: DesiredModule[],
  active: ActiveModule[],
  rejectedNames: Set<string>,
): ModuleDiff {
  const diff: ModuleDiff = { added: [], removed: [], updated: [], unchanged: [] };
  const activeByName = new Map(active.map((module) => [module.name, module]));
  const desiredNames = new Set(desired.map((module) => module.name));
  for (const module of desired) {
    const from = activeByName.get(module.name);
    if (from === undefined) diff.added.push(module);
    // Versions are immutable in the registry, so the version alone says "same module".
    else if (from.version === module.version) diff.unchanged.push(module);
    else diff.updated.push({ from, to: module });
  }
  for (const module of active) {
    if (!desiredNames.has(module.name) && !rejectedNames.has(module.name)) diff.removed.push(module);
  }
  return diff;
}

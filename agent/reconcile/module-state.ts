/**
 * Lifecycle of one module on the device, as `reported` carries it (wire/messages.ts MODULE_STATES),
 * with the transitions the reconciler may make. A transition outside the table is a bug in the
 * runner, so `assertTransition` throws instead of publishing a state the hub cannot explain.
 */
import { MODULE_STATES, type ModuleState } from "../../wire/messages.js";

export { MODULE_STATES, type ModuleState };

/** `null` is "not on the device yet" (first download) and "gone" (removed). */
export type ModuleStateOrNone = ModuleState | null;

/**
 * Allowed next states for each state. An attempt in progress (downloading, verifying, loading) can
 * be abandoned when a newer revision supersedes it: back to what serves (active), to nothing (null)
 * or straight into the next attempt. Only loading can end in rolled-back, since only an attempt
 * that got as far as switching can have something to undo.
 */
export const MODULE_TRANSITIONS: Readonly<Record<ModuleState | "none", readonly ModuleStateOrNone[]>> = {
  // From nothing: a first download, or at start-up the outcome of loading what the state file records.
  none: ["downloading", "verifying", "loading", "active", "failed", "rolled-back"],
  downloading: ["verifying", "failed", "loading", "active", null],
  // verifying → loading covers unpack+signature check; a tarball already unpacked skips to loading.
  verifying: ["loading", "failed", "downloading", "active", null],
  loading: ["active", "failed", "rolled-back", "downloading", "verifying", null],
  // A new version starts (downloading, or verifying/loading when already on disk), or removal;
  // failed when a target that failed before is re-reported after a restart.
  active: ["downloading", "verifying", "loading", "failed", "rolled-back", null],
  failed: ["downloading", "verifying", "loading", "active", null],
  "rolled-back": ["downloading", "verifying", "loading", "active", "failed", null],
};

/** Whether the reconciler may move a module from `from` to `to`. */
export function canTransition(from: ModuleStateOrNone, to: ModuleStateOrNone): boolean {
  if (from === to) return to !== null;
  return MODULE_TRANSITIONS[from ?? "none"].includes(to);
}

/** Throws when a transition is not in the table (a runner bug, never bad input). */
export function assertTransition(name: string, from: ModuleStateOrNone, to: ModuleStateOrNone): void {
  if (!canTransition(from, to)) {
    throw new Error(`module ${name}: illegal state transition ${from ?? "none"} -> ${to ?? "none"}`);
  }
}

/**
 * TEST-ONLY fault injection: with `EDGEFLEET_FAULT_KILL_AT=<point>` the agent SIGKILLs itself the
 * first time a reconcile reaches that point, so the crash-safety tests can stop a real process at
 * an exact step instead of racing a timer. A marker file `${dataDir}/fault-<point>.killed` records
 * the kill, so the restarted process (same environment) runs through. Never set it on a device.
 *
 * Points: `download` (before the tarball request), `download-mid` (after at least half of the
 * tarball is on disk in its `.part`), `unpack` (tarball verified on disk, nothing unpacked),
 * `load` (unpacked, no session), `activate` (loaded and warmed up, not switched), `cleanup`
 * (switched and recorded in state.json, old files not yet collected).
 */
import { closeSync, existsSync, fsyncSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { DesiredModule } from "../wire/messages.js";
import type { ReconcileEffects } from "./reconcile/runner.js";

export const FAULT_POINTS = ["download", "download-mid", "unpack", "load", "activate", "cleanup"] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

/** Kills the process at one configured point, once per data folder. */
export class FaultInjector {
  constructor(
    private readonly dataDir: string,
    private readonly killAt: FaultPoint | undefined,
  ) {}

  /** Whether any fault is armed (callers skip the wrapping otherwise). */
  get armed(): boolean {
    return this.killAt !== undefined;
  }

  /** SIGKILLs this process if `point` is the armed one and it has not fired in this data folder yet. */
  reached(point: FaultPoint): void {
    if (point !== this.killAt) return;
    const marker = join(this.dataDir, `fault-${point}.killed`);
    if (existsSync(marker)) return;
    // Synchronous and fsynced: the marker must be on disk before the process dies.
    const fd = openSync(marker, "w");
    writeSync(fd, `${new Date().toISOString()}\n`);
    fsyncSync(fd);
    closeSync(fd);
    // Straight to stderr: pino's async buffer dies with the process.
    writeSync(2, `${JSON.stringify({ level: 50, event: "fault.kill", point, pid: process.pid })}\n`);
    process.kill(process.pid, "SIGKILL");
  }
}

/** Effects that hit the injector before each step; the identity when no fault is armed. */
export function withFaults(effects: ReconcileEffects, faults: FaultInjector): ReconcileEffects {
  if (!faults.armed) return effects;
  return {
    download(module: DesiredModule, signal: AbortSignal) {
      faults.reached("download");
      return effects.download(module, signal);
    },
    unpack(module: DesiredModule, signal: AbortSignal) {
      faults.reached("unpack");
      return effects.unpack(module, signal);
    },
    load(module: DesiredModule, signal: AbortSignal) {
      faults.reached("load");
      return effects.load(module, signal);
    },
    activate(module: DesiredModule) {
      faults.reached("activate");
      return effects.activate(module);
    },
    dispose: (name, version) => effects.dispose(name, version),
    cleanup(name: string) {
      faults.reached("cleanup");
      return effects.cleanup(name);
    },
    remove: (name, version) => effects.remove(name, version),
    releaseUnused: () => effects.releaseUnused(),
    servingVersion: (name) => effects.servingVersion(name),
  };
}

/**
 * The agent's persistent state: `${dataDir}/state.json`, written atomically (temp, fsync, rename).
 * It records the last applied desired revision, per module the active version (always one that
 * loaded and warmed up: the last-known-good) and the previous one kept on disk for rollback,
 * failed attempts so a restart does not retry a broken tarball hot, and the telemetry seq ceiling.
 *
 * Files: `${dataDir}/modules/<name>/<version>/` holds unpacked versions; only active + previous
 * survive `gc`. Writes are serialised through one promise chain so two updates never interleave.
 */
import { readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { readJsonFile, writeFileAtomic } from "../lib/files.js";
import type { Logger } from "../lib/log.js";
import { MANIFEST_FILE } from "../modules/manifest.js";
import type { FailedAttempt } from "./reconcile/plan.js";

const StoredVersionSchema = z.object({
  version: z.string().min(1),
  sha256: z.string(),
});
export type StoredVersion = z.infer<typeof StoredVersionSchema>;

const StoredModuleSchema = z.object({
  active: StoredVersionSchema,
  previous: StoredVersionSchema.nullable(),
});
export type StoredModule = z.infer<typeof StoredModuleSchema>;

const FailedAttemptSchema = z.object({
  name: z.string(),
  version: z.string(),
  sha256: z.string(),
  reason: z.string(),
  permanent: z.boolean(),
  attempts: z.number().int().nonnegative(),
  retryAt: z.number().nullable(),
  revision: z.number().int().nonnegative().nullable().default(null),
});

export const AgentStateSchema = z.object({
  schemaVersion: z.literal(1),
  revision: z.number().int().nonnegative().nullable(),
  modules: z.record(z.string(), StoredModuleSchema),
  failures: z.array(FailedAttemptSchema),
  /** Telemetry seq numbers below this may have been used; a restart starts here (telemetry-seq.ts). */
  telemetrySeqCeiling: z.number().int().nonnegative().default(0),
});
export type AgentState = z.infer<typeof AgentStateSchema>;

const STATE_FILE = "state.json";

export interface StateStoreOpenOptions {
  /** Modules to serve when there is no readable state file, from the versions unpacked on disk. */
  rebuild?: (unpacked: Array<{ name: string; version: string }>) => Promise<Record<string, StoredModule>>;
}

/** Persistent agent state in the data folder; one instance per data folder. */
export class StateStore {
  private state: AgentState;
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    readonly dataDir: string,
    state: AgentState,
  ) {
    this.state = state;
  }

  /**
   * Opens the store; a corrupt state file is moved aside (and logged) rather than crash-looping the
   * device. With no readable state, `rebuild` (state-rebuild.ts) may name the modules on disk to
   * serve, so they are not collected as undesired.
   */
  static async open(dataDir: string, log: Logger, options: StateStoreOpenOptions = {}): Promise<StateStore> {
    const path = join(dataDir, STATE_FILE);
    let raw: unknown;
    try {
      raw = await readJsonFile<unknown>(path);
    } catch (error) {
      raw = { unreadable: (error as Error).message };
    }
    if (raw !== undefined) {
      const parsed = AgentStateSchema.safeParse(raw);
      if (parsed.success) return new StateStore(dataDir, parsed.data);
      const aside = `${path}.corrupt-${Date.now()}`;
      await rename(path, aside).catch((error: unknown) =>
        log.warn({ event: "state.move_aside_failed", path, err: error }),
      );
      log.error({ event: "state.corrupt", path, movedTo: aside, error: z.prettifyError(parsed.error) });
    }
    const store = new StateStore(dataDir, emptyState());
    if (!options.rebuild) return store;
    const modules = await options.rebuild(await store.listUnpacked());
    if (Object.keys(modules).length === 0) return store;
    // Memory first: a disk that refuses the write must not stop the device serving what it has.
    store.state.modules = modules;
    await store
      .update(() => {})
      .catch((error: unknown) => log.warn({ event: "state.rebuild_not_saved", err: error }));
    return store;
  }

  /** A deep copy of the state, safe to hand to the planner. */
  get snapshot(): AgentState {
    return structuredClone(this.state);
  }

  /** Folder an unpacked module version lives in. */
  moduleDir(name: string, version: string): string {
    return join(this.dataDir, "modules", name, version);
  }

  /** Folder downloads land in. */
  get downloadsDir(): string {
    return join(this.dataDir, "downloads");
  }

  /** Records a newly activated version; the old active one becomes `previous` (kept for rollback). */
  setActive(name: string, version: StoredVersion): Promise<void> {
    return this.update((state) => {
      const current = state.modules[name];
      const previous =
        current && current.active.version !== version.version ? current.active : (current?.previous ?? null);
      state.modules[name] = { active: version, previous };
      state.failures = state.failures.filter((f) => !(f.name === name && f.version === version.version));
    });
  }

  /** Makes `previous` the active version again (its load at start-up succeeded where active's failed). */
  rollBack(name: string): Promise<void> {
    return this.update((state) => {
      const current = state.modules[name];
      if (current?.previous) state.modules[name] = { active: current.previous, previous: null };
    });
  }

  /** Forgets a module entirely; its files go at the next `gc`. */
  removeModule(name: string): Promise<void> {
    return this.update((state) => {
      delete state.modules[name];
    });
  }

  /** Records the highest desired revision acted on. */
  setRevision(revision: number): Promise<void> {
    return this.update((state) => {
      state.revision = Math.max(state.revision ?? 0, revision);
    });
  }

  /** Raises the telemetry seq ceiling (never lowers it). */
  setTelemetrySeqCeiling(ceiling: number): Promise<void> {
    return this.update((state) => {
      state.telemetrySeqCeiling = Math.max(state.telemetrySeqCeiling, ceiling);
    });
  }

  /** Records (or replaces) the failure of one module version. */
  recordFailure(failure: FailedAttempt): Promise<void> {
    return this.update((state) => {
      state.failures = state.failures.filter(
        (f) => !(f.name === failure.name && f.version === failure.version),
      );
      state.failures.push(failure);
    });
  }

  /** Keeps only failures the predicate accepts (e.g. those still desired). */
  retainFailures(keep: (failure: FailedAttempt) => boolean): Promise<void> {
    if (this.state.failures.every(keep)) return this.writes;
    return this.update((state) => {
      state.failures = state.failures.filter(keep);
    });
  }

  /** Versions unpacked completely on disk (a folder with a module.json). */
  async listUnpacked(): Promise<Array<{ name: string; version: string }>> {
    const found: Array<{ name: string; version: string }> = [];
    for (const name of await listDirs(join(this.dataDir, "modules"))) {
      for (const version of await listDirs(join(this.dataDir, "modules", name))) {
        if (await exists(join(this.moduleDir(name, version), MANIFEST_FILE))) found.push({ name, version });
      }
    }
    return found;
  }

  /** Deletes unpacked versions other than active + previous (of `name`, or of every module). */
  async gc(name?: string): Promise<string[]> {
    await this.writes;
    const deleted: string[] = [];
    const names = name === undefined ? await listDirs(join(this.dataDir, "modules")) : [name];
    for (const moduleName of names) {
      const stored = this.state.modules[moduleName];
      const keep = new Set([stored?.active.version, stored?.previous?.version].filter(Boolean));
      const moduleFolder = join(this.dataDir, "modules", moduleName);
      for (const version of await listDirs(moduleFolder)) {
        if (keep.has(version)) continue;
        await rm(join(moduleFolder, version), { recursive: true, force: true });
        deleted.push(`${moduleName}@${version}`);
      }
      // An unpack killed midway leaves its temp sibling (`.<version>.<random>.tmp`, modules/unpack.ts).
      for (const leftover of await listDirs(moduleFolder, true)) {
        if (leftover.startsWith(".") && leftover.endsWith(".tmp")) {
          await rm(join(moduleFolder, leftover), { recursive: true, force: true });
        }
      }
      if (keep.size === 0) await rm(moduleFolder, { recursive: true, force: true });
    }
    return deleted;
  }

  private update(change: (state: AgentState) => void): Promise<void> {
    const next = this.writes.then(async () => {
      const draft = structuredClone(this.state);
      change(draft);
      await writeFileAtomic(join(this.dataDir, STATE_FILE), `${JSON.stringify(draft, null, 2)}\n`);
      // Memory follows disk only after the write succeeded, so both always agree.
      this.state = draft;
    });
    // A failed write must not wedge later ones; the caller still sees its own error.
    this.writes = next.catch(() => {});
    return next;
  }
}

function emptyState(): AgentState {
  return { schemaVersion: 1, revision: null, modules: {}, failures: [], telemetrySeqCeiling: 0 };
}

async function listDirs(folder: string, includeHidden = false): Promise<string[]> {
  try {
    const entries = await readdir(folder, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isDirectory() && (includeHidden || !entry.name.startsWith(".")))
      .map((entry) => entry.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

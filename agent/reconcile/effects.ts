/**
 * The real side effects behind plan commands: downloads into the data folder, signature and hash
 * verification while unpacking, ONNX sessions, the serving table and the state store. A loaded
 * version waits in `staged` until activate; the version it replaces waits in `retired` until dispose.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { readJsonFile } from "../../lib/files.js";
import type { Logger } from "../../lib/log.js";
import { ModuleVerificationError } from "../../modules/errors.js";
import { MANIFEST_FILE, parseManifest } from "../../modules/manifest.js";
import type { DeviceFacts } from "../../modules/select-variant.js";
import { unpackModule } from "../../modules/unpack.js";
import type { DesiredModule } from "../../wire/messages.js";
import { downloadTarball } from "../downloads.js";
import type { InferenceRuntime } from "../runtime/inference-runtime.js";
import { type LoadedModule, loadModule } from "../runtime/loaded-module.js";
import { ModelIntegrityError } from "../runtime/model-integrity.js";
import type { ServingTable } from "../runtime/serving-table.js";
import type { StateStore } from "../state-store.js";
import type { CurrentState } from "./plan.js";
import type { ReconcileState } from "./reconciler.js";
import { type ReconcileEffects, RolledBackError } from "./runner.js";

export interface AgentEffectsOptions {
  store: StateStore;
  table: ServingTable;
  log: Logger;
  /** `Authorization` header for a download URL (the hub's Basic auth, or none for other hosts). */
  authorizationFor: (url: string) => string | undefined;
  /** fetch for downloads: one that trusts the hub's CA and presents the device certificate. */
  fetch?: typeof fetch;
  /** The hub's module signing key (may fetch and pin it on first use). */
  trustKey: () => Promise<string>;
  /** Profile and capabilities for choosing a module variant. */
  device?: DeviceFacts;
  /** Worker pool and queue settings for the modules (the process default when absent). */
  runtime?: InferenceRuntime;
  /** Called as tarball bytes reach the disk (the test-only fault injector watches it). */
  onDownloadProgress?: (written: number, size: number) => void;
}

/** A tarball refused at unpack: bad format, signature or hash, or not the module the hub asked for. */
export class ModuleRefusedError extends Error {
  override readonly name = "ModuleRefusedError";
  /** The same tarball is refused again however often it is tried. */
  readonly transient = false;
}

/** Side effects of reconcile commands against the real device. */
export class AgentEffects implements ReconcileEffects {
  readonly #staged = new Map<string, LoadedModule>();
  readonly #retired = new Map<string, LoadedModule>();

  constructor(private readonly options: AgentEffectsOptions) {}

  /** Downloads the tarball into the data folder (resuming a partial one). */
  async download(module: DesiredModule, signal: AbortSignal): Promise<void> {
    const { store, log } = this.options;
    const authorization = this.options.authorizationFor(module.url);
    await downloadTarball({
      url: module.url,
      sha256: module.sha256,
      size: module.size,
      downloadsDir: store.downloadsDir,
      signal,
      log,
      ...(authorization ? { authorization } : {}),
      ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
      ...(this.options.onDownloadProgress ? { onProgress: this.options.onDownloadProgress } : {}),
    });
  }

  /** Verifies signature and model hash while unpacking to `modules/<name>/<version>/`. */
  async unpack(module: DesiredModule): Promise<void> {
    const { store } = this.options;
    const publicKeyPem = await this.options.trustKey();
    const tarball = join(store.downloadsDir, `${module.sha256}.tar.gz`);
    const destDir = store.moduleDir(module.name, module.version);
    // A folder left by a crash mid-unpack (no module.json, so not listed as unpacked) is garbage.
    await rm(destDir, { recursive: true, force: true });
    const manifest = await unpackModule({ tarball, destDir, publicKeyPem }).catch(async (error: unknown) => {
      // Name the failed check in the reported error, so operators see "signature" or "hash" first.
      if (error instanceof ModuleVerificationError) {
        // A refused tarball is refused again next time: keeping it only fills the disk.
        await rm(tarball, { force: true });
        throw new ModuleRefusedError(`verification failed (${error.reason}): ${error.message}`, {
          cause: error,
        });
      }
      throw error;
    });
    if (manifest.name !== module.name || manifest.version !== module.version) {
      await rm(destDir, { recursive: true, force: true });
      await rm(tarball, { force: true });
      throw new ModuleRefusedError(
        `tarball holds ${manifest.name}@${manifest.version}, desired state says ${module.name}@${module.version}`,
      );
    }
    // The unpacked copy is what rollback uses; the tarball has served its purpose.
    await rm(tarball, { force: true });
  }

  /** Loads and warms up the version and stages it. */
  async load(module: DesiredModule, signal: AbortSignal): Promise<void> {
    const dir = this.options.store.moduleDir(module.name, module.version);
    const raw = await readJsonFile(join(dir, MANIFEST_FILE));
    if (raw === undefined)
      throw new ModelIntegrityError(
        module.name,
        module.version,
        `${dir} is gone; it is downloaded again at the next attempt`,
      );
    const manifest = parseManifest(raw);
    const loaded = await loadModule({
      dir,
      manifest,
      log: this.options.log,
      ...(this.options.device ? { device: this.options.device } : {}),
      ...(this.options.runtime ? { runtime: this.options.runtime } : {}),
    }).catch(async (error: unknown) => {
      // A damaged copy on disk is dropped, so the module's next attempt downloads it afresh.
      if (error instanceof ModelIntegrityError) await rm(dir, { recursive: true, force: true });
      throw error;
    });
    if (signal.aborted) {
      await loaded.drainAndDispose();
      signal.throwIfAborted();
    }
    this.#staged.set(module.name, loaded);
  }

  /** Switches traffic to the staged version and records it; undoes the switch if recording fails. */
  async activate(module: DesiredModule): Promise<void> {
    const { table, store } = this.options;
    const staged = this.#staged.get(module.name);
    if (staged === undefined) throw new Error(`activate ${module.name}@${module.version}: nothing staged`);
    const previous = table.activate(staged);
    this.#staged.delete(module.name);
    try {
      await store.setActive(module.name, { version: module.version, sha256: module.sha256 });
    } catch (error) {
      // Serving a version the state file does not know would be lost on restart: switch back.
      if (previous) table.activate(previous);
      else table.remove(module.name);
      await staged.drainAndDispose();
      throw new RolledBackError(
        `could not record ${module.name}@${module.version}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (previous) this.#retired.set(`${previous.name}@${previous.version}`, previous);
  }

  /** Drains and releases the version that was replaced. */
  async dispose(name: string, version: string): Promise<void> {
    const key = `${name}@${version}`;
    const retired = this.#retired.get(key);
    this.#retired.delete(key);
    await retired?.drainAndDispose();
  }

  /** Deletes versions of `name` other than active and previous. */
  async cleanup(name: string): Promise<void> {
    const deleted = await this.options.store.gc(name);
    if (deleted.length > 0) this.options.log.info({ event: "module.gc", module: name, deleted });
  }

  /** Stops serving a module, releases it and forgets it on disk. */
  async remove(name: string): Promise<void> {
    const serving = this.options.table.remove(name);
    await serving?.drainAndDispose();
    await this.options.store.removeModule(name);
    await this.options.store.gc(name);
  }

  /** Releases staged versions that will not be activated and replaced ones a stopped run left behind. */
  async releaseUnused(): Promise<void> {
    const unused = [...this.#staged.values(), ...this.#retired.values()];
    this.#staged.clear();
    this.#retired.clear();
    await Promise.all(unused.map((module) => module.drainAndDispose()));
  }

  /** The version serving a name now. */
  servingVersion(name: string): string | null {
    return this.options.table.get(name)?.version ?? null;
  }
}

/** The reconciler's view of the device: serving table for what serves, state store for the rest. */
export function agentReconcileState(store: StateStore, table: ServingTable): ReconcileState {
  return {
    async current(): Promise<CurrentState> {
      const snapshot = store.snapshot;
      // The table, not the state file, says what serves: a version that failed to load at boot
      // is recorded as active but must be planned as missing so it gets another chance.
      const active = table.list().map((module) => {
        const stored = snapshot.modules[module.name]?.active;
        return stored?.version === module.version
          ? { name: module.name, version: module.version, sha256: stored.sha256 }
          : { name: module.name, version: module.version };
      });
      return {
        appliedRevision: snapshot.revision,
        active,
        unpacked: await store.listUnpacked(),
        failures: snapshot.failures,
      };
    },
    setRevision: (revision) => store.setRevision(revision),
    recordFailure: (failure) => store.recordFailure(failure),
    retainFailures: (keep) => store.retainFailures(keep),
  };
}

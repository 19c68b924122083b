/**
 * Start-up without the hub: load every module the state file records as active (the last version
 * that loaded and warmed up) and serve it before any network is touched. If the active version no
 * longer loads, fall back to the previous one kept on disk and record the rollback.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { readJsonFile } from "../lib/files.js";
import type { Logger } from "../lib/log.js";
import { MANIFEST_FILE, parseManifest } from "../modules/manifest.js";
import type { DeviceFacts } from "../modules/select-variant.js";
import type { Reporter } from "./reconcile/reporter.js";
import type { InferenceRuntime } from "./runtime/inference-runtime.js";
import { loadModule } from "./runtime/loaded-module.js";
import { ModelIntegrityError } from "./runtime/model-integrity.js";
import type { ServingTable } from "./runtime/serving-table.js";
import type { StateStore, StoredVersion } from "./state-store.js";

export interface BootOptions {
  store: StateStore;
  table: ServingTable;
  reporter: Reporter;
  log: Logger;
  /** Profile and capabilities for choosing a module variant. */
  device?: DeviceFacts;
  /** Worker pool and queue settings for the modules (the process default when absent). */
  runtime?: InferenceRuntime;
}

/** Loads last-known-good versions into the serving table; never throws for one bad module. */
export async function loadLastKnownGood(options: BootOptions): Promise<void> {
  const { store, table, reporter, log } = options;
  for (const [name, stored] of Object.entries(store.snapshot.modules)) {
    const activeError = await tryLoad(options, name, stored.active);
    if (activeError === null) {
      reporter.set(name, {
        version: stored.active.version,
        state: "active",
        servingVersion: stored.active.version,
      });
      continue;
    }
    log.error({
      event: "boot.load_failed",
      module: name,
      version: stored.active.version,
      error: activeError,
    });
    if (stored.previous && (await tryLoad(options, name, stored.previous)) === null) {
      await store.rollBack(name);
      reporter.set(name, {
        version: stored.active.version,
        state: "rolled-back",
        servingVersion: stored.previous.version,
        error: activeError,
      });
      log.warn({
        event: "boot.rolled_back",
        module: name,
        from: stored.active.version,
        to: stored.previous.version,
      });
      continue;
    }
    reporter.set(name, {
      version: stored.active.version,
      state: "failed",
      servingVersion: null,
      error: activeError,
    });
  }
  log.info({ event: "boot.serving", modules: table.list().map((m) => `${m.name}@${m.version}`) });
}

async function tryLoad(options: BootOptions, name: string, stored: StoredVersion): Promise<string | null> {
  const dir = options.store.moduleDir(name, stored.version);
  try {
    const manifest = parseManifest(await readJsonFile(join(dir, MANIFEST_FILE)));
    if (manifest.name !== name || manifest.version !== stored.version) {
      return `${dir} holds ${manifest.name}@${manifest.version}`;
    }
    options.table.activate(
      await loadModule({
        dir,
        manifest,
        log: options.log,
        ...(options.device ? { device: options.device } : {}),
        ...(options.runtime ? { runtime: options.runtime } : {}),
      }),
    );
    return null;
  } catch (error) {
    // A damaged copy is never served; the reconciler downloads it again (its folder is gone).
    if (error instanceof ModelIntegrityError) await rm(dir, { recursive: true, force: true });
    return (error as Error).message;
  }
}

/**
 * Brings the agent's shadow candidates in line with the desired state [WIRE-3.4]: for every desired
 * module that names a `shadow`, download, verify (hash, then signature, as any module [WIRE-3.3]),
 * load and warm up that version beside the serving one; drop candidates no longer named. Runs one
 * sync at a time, newest desired state last; a candidate that fails is reported `failed` with its
 * error and not retried for the same tarball. The reconcile loop, the state file and the serving
 * table never see candidates: a restart loads them again from the retained desired state.
 */
import { join } from "node:path";
import { readJsonFile } from "../../lib/files.js";
import type { Logger } from "../../lib/log.js";
import { MANIFEST_FILE, parseManifest } from "../../modules/manifest.js";
import type { DeviceFacts } from "../../modules/select-variant.js";
import type { DesiredModule, DesiredState } from "../../wire/messages.js";
import type { Reporter } from "../reconcile/reporter.js";
import type { InferenceRuntime } from "../runtime/inference-runtime.js";
import { loadModule } from "../runtime/loaded-module.js";
import type { ShadowScorer } from "./shadow-scorer.js";

export interface ShadowLoaderOptions {
  scorer: ShadowScorer;
  reporter: Pick<Reporter, "setShadow">;
  /** Download and verified unpack of a tarball, as the reconcile effects do them. */
  fetch: {
    download(module: DesiredModule, signal: AbortSignal): Promise<void>;
    unpack(module: DesiredModule): Promise<void>;
  };
  moduleDir: (name: string, version: string) => string;
  log: Logger;
  device?: DeviceFacts;
  runtime?: InferenceRuntime;
}

/** Keeps the loaded candidates equal to what the latest desired state names. */
export class ShadowLoader {
  readonly #options: ShadowLoaderOptions;
  #chain: Promise<void> = Promise.resolve();
  #latest: DesiredState | undefined;
  /** Candidates that failed, by "name@version#sha256": not tried again for the same tarball. */
  readonly #failed = new Map<string, string>();
  readonly #abort = new AbortController();

  constructor(options: ShadowLoaderOptions) {
    this.#options = options;
  }

  /** Queues a sync to this desired state (only the newest queued one runs). */
  submit(desired: DesiredState): Promise<void> {
    this.#latest = desired;
    this.#chain = this.#chain.then(() => (this.#latest === desired ? this.#sync(desired) : undefined));
    return this.#chain;
  }

  /** Stops loading and releases every candidate. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#chain.catch(() => undefined);
    await Promise.all(
      this.#options.scorer.list().map(({ name }) => this.#options.scorer.remove(name)?.drainAndDispose()),
    );
  }

  async #sync(desired: DesiredState): Promise<void> {
    const { scorer, reporter, log } = this.#options;
    const wanted = new Map(desired.modules.filter((m) => m.shadow).map((m) => [m.name, m]));
    for (const { name, version } of scorer.list()) {
      const want = wanted.get(name)?.shadow;
      if (want?.version === version) continue;
      await scorer.remove(name)?.drainAndDispose();
      if (!want) reporter.setShadow(name, undefined);
      log.info({ event: "shadow.dropped", module: name, version });
    }
    for (const module of wanted.values()) {
      if (this.#abort.signal.aborted) return;
      const shadow = module.shadow!;
      if (scorer.get(module.name)?.version === shadow.version) continue;
      const key = `${module.name}@${shadow.version}#${shadow.sha256}`;
      const failed = this.#failed.get(key);
      if (failed !== undefined) {
        reporter.setShadow(module.name, { version: shadow.version, state: "failed", error: failed });
        continue;
      }
      await this.#load({ name: module.name, ...shadow }, key);
    }
    // Candidates of modules that left the desired state entirely.
    for (const { name } of scorer.list()) if (!wanted.has(name)) reporter.setShadow(name, undefined);
  }

  async #load(candidate: DesiredModule, key: string): Promise<void> {
    const { scorer, reporter, log, fetch } = this.#options;
    reporter.setShadow(candidate.name, { version: candidate.version, state: "loading" });
    try {
      await fetch.download(candidate, this.#abort.signal);
      await fetch.unpack(candidate);
      const dir = this.#options.moduleDir(candidate.name, candidate.version);
      const manifest = parseManifest(await readJsonFile(join(dir, MANIFEST_FILE)));
      const loaded = await loadModule({
        dir,
        manifest,
        log,
        ...(this.#options.device ? { device: this.#options.device } : {}),
        ...(this.#options.runtime ? { runtime: this.#options.runtime } : {}),
      });
      if (this.#abort.signal.aborted) {
        await loaded.drainAndDispose();
        return;
      }
      await scorer.set(loaded)?.drainAndDispose();
      reporter.setShadow(candidate.name, { version: candidate.version, state: "scoring" });
      log.info({ event: "shadow.loaded", module: candidate.name, version: candidate.version });
    } catch (error) {
      if (this.#abort.signal.aborted) return;
      const message = error instanceof Error ? error.message : String(error);
      // Transient failures (network, disk) get another chance with the next desired state.
      if ((error as { transient?: boolean }).transient !== true) this.#failed.set(key, message);
      reporter.setShadow(candidate.name, { version: candidate.version, state: "failed", error: message });
      log.warn({
        event: "shadow.load_failed",
        module: candidate.name,
        version: candidate.version,
        error: message,
      });
    }
  }
}

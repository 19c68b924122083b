/**
 * The agent's drift side: one ModuleDrift per monitored module version (created on its first scored
 * request), attached to every telemetry window the outbox closes, the hub's collect-samples
 * commands, and feedback joined to sampled rows. Summaries held back below `minRows`, and the hub's
 * sample requests still running, are written to `${dataDir}/drift-held.json` whenever they change,
 * so a restart (graceful or not) neither loses them nor sends them early, and sampling goes on
 * after it (the rows in a reservoir at the moment of a crash are lost: they are a sample).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { encodeSummary } from "../../drift-summary/codec.js";
import type { Monitoring } from "../../drift-summary/monitoring.js";
import { type DriftSummary, DriftSummarySchema } from "../../drift-summary/summary.js";
import { readJsonFile, writeFileAtomic } from "../../lib/files.js";
import { type Logger, silentLogger } from "../../lib/log.js";
import type { Manifest } from "../../modules/manifest.js";
import type { CollectSamplesCommand, CommandResponse } from "../../wire/commands.js";
import { COLLECT_SAMPLES } from "../../wire/commands.js";
import { type ModuleWindow, PROTOCOL_VERSION } from "../../wire/messages.js";
import { ModuleDrift, type Truth } from "./module-drift.js";

export const HELD_FILE = "drift-held.json";
/** Prediction ids of rows already sent as samples, kept to route late feedback (oldest go first). */
const SENT_IDS_LIMIT = 10_000;
/**
 * A held summary whose first row is older than this is dropped: its module version stopped being
 * scored, or is scored so rarely that it never reaches minRows; sending it would defeat minRows.
 */
export const HELD_MAX_AGE_MS = 7 * 86_400_000;
/** Request ids of commands already acted on (QoS 1 may deliver twice). */
const SEEN_COMMANDS_LIMIT = 256;

interface SampleRequest {
  requestId: string;
  version?: string;
  maxPerWindow: number;
  windowsLeft: number;
}

interface HeldFile {
  schemaVersion: 1;
  held: { name: string; version: string; summary: DriftSummary }[];
  /** Sample requests still running, by module (absent in files written before they were kept). */
  requests?: (SampleRequest & { module: string })[];
}

export interface DriftMonitorOptions {
  /** Folder for drift-held.json; without it nothing is persisted (tests). */
  dataDir?: string;
  log?: Logger;
  now?: () => number;
  /** Seeds reservoirs (a new seed per window); crypto-random by default. */
  seed?: () => number;
}

/** A module the monitor can look up: its manifest (serving table entries fit). */
export interface ServedModule {
  name: string;
  version: string;
  manifest: Manifest;
}

export class DriftMonitor {
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #seed: () => number;
  readonly #path: string | undefined;
  /** Per LoadedModule (or manifest) object: lookups on the scoring path cost one WeakMap get. */
  #byModule = new WeakMap<object, ModuleDrift | null>();
  #modules = new Map<string, ModuleDrift>();
  /** Held summaries read from disk for versions not scored since the restart. */
  #restored = new Map<string, DriftSummary>();
  #requests = new Map<string, SampleRequest>();
  #seenCommands = new Set<string>();
  #sentIds = new Map<string, string>();
  #saving: Promise<void> = Promise.resolve();
  #heldDirty = false;

  constructor(options: DriftMonitorOptions = {}) {
    this.#log = options.log ?? silentLogger;
    this.#now = options.now ?? Date.now;
    this.#seed = options.seed ?? (() => (Math.random() * 2 ** 32) >>> 0);
    this.#path = options.dataDir === undefined ? undefined : join(options.dataDir, HELD_FILE);
  }

  /** Reads held summaries left by the previous run. A corrupt file is logged and ignored. */
  async load(): Promise<void> {
    if (this.#path === undefined) return;
    try {
      const file = await readJsonFile<HeldFile>(this.#path);
      for (const entry of file?.held ?? []) {
        const parsed = DriftSummarySchema.safeParse(entry.summary);
        if (!parsed.success) continue;
        if (this.#expired(parsed.data, this.#now())) this.#logExpired(entry.name, entry.version, parsed.data);
        else this.#restored.set(key(entry.name, entry.version), parsed.data);
      }
      for (const { module, ...request } of file?.requests ?? []) {
        if (typeof module !== "string" || !(request.windowsLeft > 0) || !(request.maxPerWindow > 0)) continue;
        this.#requests.set(module, request);
        this.#seenCommands.add(request.requestId);
      }
    } catch (error) {
      this.#log.warn({ event: "drift.held_unreadable", path: this.#path, err: error });
    }
  }

  /** The drift state of a served module, or undefined when its manifest has no monitoring. */
  forModule(module: ServedModule): ModuleDrift | undefined {
    const cached = this.#byModule.get(module);
    if (cached !== undefined) return cached ?? undefined;
    const drift = this.#create(module.manifest);
    this.#byModule.set(module, drift ?? null);
    return drift;
  }

  #create(manifest: Manifest): ModuleDrift | undefined {
    if (manifest.monitoring === undefined) return undefined;
    const k = key(manifest.name, manifest.version);
    const existing = this.#modules.get(k);
    if (existing !== undefined) return existing;
    let drift: ModuleDrift;
    try {
      drift = new ModuleDrift(manifest as Manifest & { monitoring: Monitoring });
    } catch (error) {
      this.#log.warn({
        event: "drift.spec_unusable",
        module: manifest.name,
        version: manifest.version,
        err: error,
      });
      return undefined;
    }
    const restored = this.#restored.get(k);
    if (restored !== undefined) {
      this.#restored.delete(k);
      if (restored.baselineId === drift.spec.baselineId) drift.held = restored;
    }
    this.#modules.set(k, drift);
    this.#armSampling(drift);
    return drift;
  }

  /**
   * Adds drift summaries (and samples) to a closing window's module entries, in place. Summaries
   * below minRows, or of versions without an entry in this window, are held for the next.
   */
  attach(windows: ModuleWindow[]): ModuleWindow[] {
    const now = this.#now();
    const heldBefore = this.#heldSnapshot();
    for (const drift of this.#modules.values()) {
      if (drift.held && this.#expired(drift.held, now)) {
        this.#logExpired(drift.name, drift.version, drift.held);
        drift.held = undefined;
      }
      const entry = windows.find((w) => w.name === drift.name && w.version === drift.version);
      const out = drift.release(entry !== undefined, now);
      if (entry === undefined) continue;
      if (out.drift !== undefined) this.#put(entry, drift, out.drift);
      if (out.rows !== undefined || out.labels !== undefined) {
        entry.samples = { rows: out.rows ?? [], ...(out.labels ? { labels: out.labels } : {}) };
      }
      for (const row of out.rows ?? []) this.#rememberSent(row.id, key(drift.name, drift.version));
      if (out.rows !== undefined) this.#countWindow(drift);
    }
    for (const [k, summary] of this.#restored) {
      if (!this.#expired(summary, now)) continue;
      this.#restored.delete(k);
      this.#logExpired(k.slice(0, k.lastIndexOf("@")), k.slice(k.lastIndexOf("@") + 1), summary);
    }
    if (this.#heldSnapshot() !== heldBefore) this.#scheduleSave();
    return windows;
  }

  #expired(summary: DriftSummary, now: number): boolean {
    return now - Date.parse(summary.windowStart) > HELD_MAX_AGE_MS;
  }

  #logExpired(name: string, version: string, summary: DriftSummary): void {
    this.#log.info({
      event: "drift.held_expired",
      module: name,
      version,
      rows: summary.rows,
      windowStart: summary.windowStart,
    });
  }

  /** A released summary goes out packed (drift-summary/codec.ts); plain only if packing fails. */
  #put(entry: ModuleWindow, drift: ModuleDrift, summary: DriftSummary): void {
    try {
      entry.driftPacked = encodeSummary(summary, drift.spec);
    } catch (error) {
      this.#log.warn({ event: "drift.pack_failed", module: drift.name, version: drift.version, err: error });
      entry.drift = summary;
    }
  }

  /** Joins feedback for a prediction to its sampled row, if it was sampled. */
  feedback(predictionId: string, truth: Truth): void {
    for (const drift of this.#modules.values()) {
      if (drift.labelInReservoir(predictionId, truth)) return;
    }
    const owner = this.#sentIds.get(predictionId);
    if (owner === undefined) return;
    this.#modules.get(owner)?.queueLabel(predictionId, truth);
  }

  /**
   * Handles `collect-samples`: accepted only when the module serves with a manifest that allows
   * samples. The cap is the smaller of the command's and the manifest's per-window limits.
   */
  collectSamples(command: CollectSamplesCommand, serving: ServedModule | undefined): CommandResponse {
    const answer = (ok: boolean, message: string, details?: Record<string, unknown>): CommandResponse => ({
      protocol: PROTOCOL_VERSION,
      requestId: command.requestId,
      command: COLLECT_SAMPLES,
      ok,
      message,
      ...(details ? { details } : {}),
    });
    if (this.#seenCommands.has(command.requestId)) return answer(true, "already accepted");
    if (serving === undefined) return answer(false, `module "${command.module}" is not served here`);
    if (command.version !== undefined && command.version !== serving.version) {
      return answer(false, `module "${command.module}" serves ${serving.version}, not ${command.version}`);
    }
    const samples = serving.manifest.monitoring?.samples;
    if (!samples?.allowed) {
      return answer(false, `the manifest of ${serving.name}@${serving.version} does not allow samples`);
    }
    this.#seenCommands.add(command.requestId);
    if (this.#seenCommands.size > SEEN_COMMANDS_LIMIT) {
      this.#seenCommands.delete(this.#seenCommands.values().next().value!);
    }
    const maxPerWindow = Math.min(command.maxPerWindow, samples.maxPerWindow);
    this.#requests.set(command.module, {
      requestId: command.requestId,
      ...(command.version !== undefined ? { version: command.version } : {}),
      maxPerWindow,
      windowsLeft: command.windows,
    });
    for (const drift of this.#modules.values()) if (drift.name === command.module) this.#armSampling(drift);
    this.#scheduleSave();
    this.#log.info({
      event: "drift.samples_requested",
      module: command.module,
      maxPerWindow,
      windows: command.windows,
    });
    return answer(true, "collecting", { maxPerWindow, windows: command.windows });
  }

  /** Writes pending held summaries; call after the last window was closed (graceful stop). */
  async flush(): Promise<void> {
    this.#scheduleSave();
    await this.#saving;
  }

  #armSampling(drift: ModuleDrift): void {
    const request = this.#requests.get(drift.name);
    const applies =
      request !== undefined && (request.version === undefined || request.version === drift.version);
    const cap = applies ? Math.min(request.maxPerWindow, drift.sampleCap) : 0;
    if (cap > 0) drift.startSampling(cap, this.#seed());
    else if (drift.sampling) drift.stopSampling();
  }

  /** One window with samples of this module went out; re-arm for the next or stop. */
  #countWindow(drift: ModuleDrift): void {
    const request = this.#requests.get(drift.name);
    if (request !== undefined && --request.windowsLeft <= 0) this.#requests.delete(drift.name);
    if (request !== undefined) this.#scheduleSave();
    this.#armSampling(drift);
  }

  #rememberSent(id: string, owner: string): void {
    this.#sentIds.set(id, owner);
    if (this.#sentIds.size > SENT_IDS_LIMIT) this.#sentIds.delete(this.#sentIds.keys().next().value!);
  }

  #heldSnapshot(): string {
    let parts = "";
    for (const [k, drift] of this.#modules)
      if (drift.held) parts += `${k}:${drift.held.rows}:${drift.held.windowEnd};`;
    return `${parts}${this.#restored.size}`;
  }

  #scheduleSave(): void {
    if (this.#path === undefined) return;
    this.#heldDirty = true;
    this.#saving = this.#saving.then(() => this.#save());
  }

  async #save(): Promise<void> {
    if (!this.#heldDirty || this.#path === undefined) return;
    this.#heldDirty = false;
    const held: HeldFile["held"] = [];
    for (const drift of this.#modules.values()) {
      if (drift.held) held.push({ name: drift.name, version: drift.version, summary: drift.held });
    }
    for (const [k, summary] of this.#restored) {
      const at = k.lastIndexOf("@");
      held.push({ name: k.slice(0, at), version: k.slice(at + 1), summary });
    }
    const requests = [...this.#requests].map(([module, request]) => ({ module, ...request }));
    try {
      if (held.length === 0 && requests.length === 0) await rm(this.#path, { force: true });
      else {
        const file: HeldFile = { schemaVersion: 1, held, ...(requests.length > 0 ? { requests } : {}) };
        await writeFileAtomic(this.#path, JSON.stringify(file));
      }
    } catch (error) {
      this.#log.warn({ event: "drift.held_save_failed", path: this.#path, err: error });
    }
  }
}

function key(name: string, version: string): string {
  // "@" cannot occur in a module name, so the key is unambiguous.
  return `${name}@${version}`;
}

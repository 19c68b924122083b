/**
 * Turns the packed drift summaries of a telemetry window (`driftPacked`, drift-summary/codec.ts)
 * back into plain ones before the window is stored, so storage, aggregation and statistics only ever
 * see DriftSummary. The spec that decodes a summary is the monitoring section of the module version
 * the window names, cached per version. A summary that cannot be decoded — unknown module version,
 * no monitoring, another baseline, damaged data, or both forms at once — is refused: logged
 * (`telemetry.drift_refused`), counted, and dropped whole; the window's serving statistics are
 * still stored. Never throws.
 */

import { type CodecSpec, decodeSummary } from "../../drift-summary/codec.js";
import type { Monitoring } from "../../drift-summary/monitoring.js";
import type { Logger } from "../../lib/log.js";
import type { ModuleWindow, TelemetryWindow } from "../../wire/messages.js";
import type { ModuleRepo } from "../repos/modules.js";

/** Module versions whose specs are kept (one spec is a few KB to a few hundred). */
const CACHED_SPECS = 256;

export interface DriftUnpackStats {
  /** Packed summaries decoded. */
  decoded: number;
  /** Packed summaries refused (see the file comment). */
  refused: number;
}

class Refused extends Error {}

export class DriftUnpacker {
  readonly #modules: Pick<ModuleRepo, "get">;
  readonly #log: Logger;
  /** Monitoring spec per "name@version"; null: the version has none. */
  readonly #specs = new Map<string, CodecSpec | null>();
  readonly #stats: DriftUnpackStats = { decoded: 0, refused: 0 };

  constructor(modules: Pick<ModuleRepo, "get">, log: Logger) {
    this.#modules = modules;
    this.#log = log;
  }

  /** The window with every `driftPacked` decoded into `drift` (or dropped when refused). */
  async unpack(deviceId: string, window: TelemetryWindow): Promise<TelemetryWindow> {
    if (!window.modules.some((m) => m.driftPacked !== undefined)) return window;
    const modules: ModuleWindow[] = [];
    for (const module of window.modules) modules.push(await this.#module(deviceId, window.seq, module));
    return { ...window, modules };
  }

  stats(): DriftUnpackStats {
    return { ...this.#stats };
  }

  async #module(deviceId: string, seq: number, module: ModuleWindow): Promise<ModuleWindow> {
    const { driftPacked, drift, ...rest } = module;
    if (driftPacked === undefined) return module;
    try {
      if (drift !== undefined) throw new Refused("the window carries both drift and driftPacked");
      const spec = await this.#spec(module.name, module.version, driftPacked.baselineId);
      const decoded = decodeSummary(driftPacked, spec);
      this.#stats.decoded++;
      return { ...rest, drift: decoded };
    } catch (error) {
      this.#stats.refused++;
      this.#log.warn({
        event: "telemetry.drift_refused",
        deviceId,
        seq,
        module: module.name,
        version: module.version,
        baselineId: driftPacked.baselineId,
        reason: error instanceof Error ? error.message : String(error),
      });
      return rest;
    }
  }

  /** The version's spec; looked up again when the cached one has another baseline (a re-created version). */
  async #spec(name: string, version: string, baselineId: string): Promise<CodecSpec> {
    const key = `${name}@${version}`;
    let spec = this.#specs.get(key);
    if (spec === undefined || spec?.baselineId !== baselineId) {
      const record = await this.#modules.get(name, version);
      if (record === null) throw new Refused(`module ${key} is not known to this hub`);
      spec = (record.manifest as { monitoring?: Monitoring }).monitoring ?? null;
      this.#specs.delete(key);
      this.#specs.set(key, spec);
      if (this.#specs.size > CACHED_SPECS) this.#specs.delete(this.#specs.keys().next().value!);
    }
    if (spec === null) throw new Refused(`module ${key} has no monitoring section`);
    if (spec.baselineId !== baselineId) {
      throw new Refused(`baseline ${baselineId} is not the one of ${key} (${spec.baselineId})`);
    }
    return spec;
  }
}

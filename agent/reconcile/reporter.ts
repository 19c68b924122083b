/**
 * Keeps what the agent reports per module and hands a fresh `reported` document to `publish` after
 * every change. Every change goes through the transitions table (module-state.ts).
 */
import { PROTOCOL_VERSION, type ReportedModule, type ReportedState } from "../../wire/messages.js";
import { assertTransition, type ModuleState } from "./module-state.js";

export interface ReporterOptions {
  publish: (state: ReportedState) => void;
  now?: () => Date;
}

/** The agent's reported state, one entry per module name. */
export class Reporter {
  readonly #modules = new Map<string, ReportedModule>();
  /** Shadow candidates by module name; kept apart so lifecycle transitions never touch them. */
  readonly #shadows = new Map<string, NonNullable<ReportedModule["shadow"]>>();
  #revision = 0;
  readonly #publish: (state: ReportedState) => void;
  readonly #now: () => Date;

  constructor(options: ReporterOptions) {
    this.#publish = options.publish;
    this.#now = options.now ?? (() => new Date());
  }

  /** Moves one module to a state and publishes; `servingVersion` is what still takes traffic. */
  set(
    name: string,
    update: { version: string; state: ModuleState; servingVersion: string | null; error?: string },
  ): void {
    const before = this.#modules.get(name);
    assertTransition(name, before?.state ?? null, update.state);
    const entry: ReportedModule = {
      name,
      version: update.version,
      state: update.state,
      servingVersion: update.servingVersion,
      since: this.#now().toISOString(),
    };
    if (update.error !== undefined) entry.error = update.error;
    this.#modules.set(name, entry);
    this.publish();
  }

  /** Drops a module that is no longer on the device. */
  delete(name: string): void {
    const before = this.#modules.get(name);
    if (before === undefined) return;
    assertTransition(name, before.state, null);
    this.#modules.delete(name);
    this.publish();
  }

  /** Every entry, by name. */
  entries(): ReportedModule[] {
    return [...this.#modules.values()];
  }

  /** The entry of one module, if any. */
  get(name: string): ReportedModule | undefined {
    return this.#modules.get(name);
  }

  /** Sets (or with undefined clears) the shadow candidate's state of a module, and publishes [WIRE-4.3]. */
  setShadow(name: string, shadow: ReportedModule["shadow"]): void {
    if (shadow === undefined) {
      if (!this.#shadows.delete(name)) return;
    } else this.#shadows.set(name, shadow);
    this.publish();
  }

  /** Records the highest revision acted on and publishes when it moved. */
  setRevision(revision: number): void {
    if (revision === this.#revision) return;
    this.#revision = revision;
    this.publish();
  }

  /** The current document. */
  snapshot(): ReportedState {
    const modules = [...this.#modules.values()]
      .map((m) => {
        const shadow = this.#shadows.get(m.name);
        return shadow ? { ...m, shadow } : m;
      })
      .sort((a, b) => a.name.localeCompare(b.name));
    return { protocol: PROTOCOL_VERSION, revision: this.#revision, modules, at: this.#now().toISOString() };
  }

  /** Publishes the current document (also used after a reconnect). */
  publish(): void {
    this.#publish(this.snapshot());
  }
}

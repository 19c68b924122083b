/**
 * Which loaded module version serves each module name. Synchronous on purpose: a request looks a
 * module up and takes its lease in the same tick, so a swap can never hand it a disposed session.
 */
import type { LoadedModule } from "./loaded-module.js";

/** The active module per name; the reconciler swaps entries, the scoring server reads them. */
export class ServingTable {
  readonly #active = new Map<string, LoadedModule>();

  /** The active module for a name. */
  get(name: string): LoadedModule | undefined {
    return this.#active.get(name);
  }

  /** The active module for a name only when it is that exact version. */
  getVersion(name: string, version: string): LoadedModule | undefined {
    const module = this.#active.get(name);
    return module?.version === version ? module : undefined;
  }

  /** Every active module, ordered by name. */
  list(): LoadedModule[] {
    return [...this.#active.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Makes `module` the active one for its name and returns the one it replaced. Requests that
   * already hold the previous module finish on it; the caller drains and disposes it.
   */
  activate(module: LoadedModule): LoadedModule | undefined {
    if (module.state !== "serving") {
      throw new Error(`cannot activate ${module.name}@${module.version}: it is ${module.state}`);
    }
    const previous = this.#active.get(module.name);
    this.#active.set(module.name, module);
    return previous === module ? undefined : previous;
  }

  /** Stops serving a name; returns the module that served it, for the caller to drain and dispose. */
  remove(name: string): LoadedModule | undefined {
    const previous = this.#active.get(name);
    this.#active.delete(name);
    return previous;
  }
}

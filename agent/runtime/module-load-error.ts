/** The error every failed module load throws (loaded-module.ts, model-integrity.ts). */

/** A module could not be loaded: bad model file, unsupported execution provider, manifest mismatch. */
export class ModuleLoadError extends Error {
  constructor(
    readonly module: string,
    readonly version: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`module ${module}@${version}: ${message}`, options);
    this.name = "ModuleLoadError";
  }
}

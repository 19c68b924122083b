/**
 * The model version a retraining cycle starts from, found the same way when a monitor is defined
 * (hub/monitors/service.ts) and when a cycle runs (driver.ts): alias `champion`, else the version
 * the module was packaged from when it is of that model.
 */
import type { Manifest } from "../../modules/manifest.js";
import type { Repositories } from "../repos/index.js";
import type { ModelVersion } from "../repos/models.js";

export type ModuleSource = NonNullable<Manifest["source"]>;

/** The model version a module version was packaged from (manifest `source`), if any. */
export function moduleSource(manifest: unknown): ModuleSource | undefined {
  return (manifest as { source?: ModuleSource } | undefined)?.source;
}

/** The champion of `model`: its alias, else the module's source version when that is of `model`. */
export async function findChampion(
  repos: Pick<Repositories, "models">,
  model: string,
  source: ModuleSource | undefined,
): Promise<ModelVersion | null> {
  return (
    (await repos.models.resolveVersion(model, "champion")) ??
    (source?.model === model ? await repos.models.getVersion(model, source.modelVersion) : null)
  );
}

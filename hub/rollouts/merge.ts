/**
 * Layered deployments: a device's desired module set is the merge of every deployment that
 * contributes to it, one winner per module name: the highest priority, ties to the newest. The
 * losers are kept in the result (`overrides`) so the API shows what was overridden. Pure.
 */

/** One deployment's contribution to a device. */
export interface Layer {
  deploymentId: string;
  moduleName: string;
  moduleVersion: string;
  priority: number;
  createdAt: Date;
}

/** The winning layer for one module, with the layers it overrode (best first). */
export interface MergedModule {
  name: string;
  version: string;
  deploymentId: string;
  priority: number;
  overrides: { deploymentId: string; version: string; priority: number }[];
}

/** Orders layers best first: priority, then newest, then id (so equal rows merge the same way everywhere). */
export function compareLayers(a: Layer, b: Layer): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  const at = b.createdAt.getTime() - a.createdAt.getTime();
  if (at !== 0) return at;
  return a.deploymentId < b.deploymentId ? 1 : a.deploymentId > b.deploymentId ? -1 : 0;
}

/** Merges layers into one module set, sorted by module name. */
export function mergeLayers(layers: readonly Layer[]): MergedModule[] {
  const byModule = new Map<string, Layer[]>();
  for (const layer of layers) {
    const list = byModule.get(layer.moduleName) ?? [];
    list.push(layer);
    byModule.set(layer.moduleName, list);
  }
  return [...byModule.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, list]) => {
      const [winner, ...rest] = [...list].sort(compareLayers);
      return {
        name,
        version: winner!.moduleVersion,
        deploymentId: winner!.deploymentId,
        priority: winner!.priority,
        overrides: rest.map((l) => ({
          deploymentId: l.deploymentId,
          version: l.moduleVersion,
          priority: l.priority,
        })),
      };
    });
}

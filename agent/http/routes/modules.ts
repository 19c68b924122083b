/** GET /v1/modules: what this agent serves right now, for operators and Node-RED's config UI. */
import { Hono } from "hono";
import type { Postprocessing, Preprocessing, TensorSpec } from "../../../modules/manifest.js";
import type { LoadedModule } from "../../runtime/loaded-module.js";
import type { ScoringDeps } from "../deps.js";

export interface ModuleSummary {
  name: string;
  version: string;
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
  preprocessing:
    | { kind: "none" }
    | { kind: "tabular"; input: string; features: string[] }
    | Extract<Preprocessing, { kind: "image" }>;
  postprocessing: { kind: Postprocessing["kind"]; output?: string; labels?: readonly string[] };
  loadedAt: string;
}

/** The public view of a served module: enough to build a score request, nothing internal. */
export function moduleSummary(module: LoadedModule): ModuleSummary {
  const pre: Preprocessing = module.manifest.preprocessing;
  const post: Postprocessing = module.manifest.postprocessing;
  return {
    name: module.name,
    version: module.version,
    inputs: module.inputs,
    outputs: module.outputs,
    preprocessing:
      pre.kind === "tabular"
        ? { kind: "tabular", input: pre.input, features: pre.features.map((feature) => feature.name) }
        : pre, // "none", or "image": its whole spec tells a client what to send
    postprocessing:
      post.kind === "raw"
        ? { kind: "raw" }
        : { kind: post.kind, output: post.output, ...(post.labels ? { labels: post.labels } : {}) },
    loadedAt: module.loadedAt.toISOString(),
  };
}

/** GET /v1/modules. */
export function modulesRoutes(deps: ScoringDeps): Hono {
  const app = new Hono();
  app.get("/v1/modules", (c) => c.json({ modules: deps.table.list().map(moduleSummary) }));
  return app;
}

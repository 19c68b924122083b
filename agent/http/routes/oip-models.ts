/** OIP model routes: metadata and readiness, with or without a version segment. */
import { Hono } from "hono";
import type { LoadedModule } from "../../runtime/loaded-module.js";
import type { ScoringDeps } from "../deps.js";
import { resolveModule } from "../request.js";
import { type ModelMetadataResponse, ONNX_PLATFORM } from "./oip-schemas.js";

/** OIP model metadata for a served module; dynamic dimensions are -1 as the protocol says. */
export function modelMetadata(module: LoadedModule): ModelMetadataResponse {
  const tensor = (spec: { name: string; datatype: string; shape: number[] }) => ({
    name: spec.name,
    datatype: spec.datatype,
    shape: spec.shape.map((dim) => (dim < 0 ? -1 : dim)),
  });
  return {
    name: module.name,
    versions: [module.version],
    platform: ONNX_PLATFORM,
    inputs: module.inputs.map(tensor),
    outputs: module.outputs.map(tensor),
  };
}

/** GET /v2/models/{name}[/versions/{version}] and .../ready. */
export function oipModelRoutes(deps: ScoringDeps): Hono {
  const app = new Hono();
  app.get("/v2/models/:name", (c) => c.json(modelMetadata(resolveModule(deps.table, c.req.param("name")))));
  app.get("/v2/models/:name/versions/:version", (c) =>
    c.json(modelMetadata(resolveModule(deps.table, c.req.param("name"), c.req.param("version")))),
  );
  // A module in the table is loaded and warmed up, so being served is being ready.
  app.get("/v2/models/:name/ready", (c) => {
    const module = resolveModule(deps.table, c.req.param("name"));
    return c.json({ name: module.name, ready: true });
  });
  app.get("/v2/models/:name/versions/:version/ready", (c) => {
    const module = resolveModule(deps.table, c.req.param("name"), c.req.param("version"));
    return c.json({ name: module.name, ready: true });
  });
  return app;
}

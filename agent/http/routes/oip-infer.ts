/**
 * OIP inference: POST /v2/models/{name}[/versions/{version}]/infer. JSON tensors in, JSON tensors
 * out (flat, row-major; INT64 as numbers). Every request is recorded for telemetry.
 */
import { type Context, Hono } from "hono";
import { feedsFromJson, outputNamesFor } from "../../runtime/feeds.js";
import type { LoadedModule } from "../../runtime/loaded-module.js";
import { tensorToJson } from "../../runtime/tensor-json.js";
import type { ScoringDeps } from "../deps.js";
import { ScoringError } from "../errors.js";
import { inferenceFailed, parseWith, readJsonBody, resolveModule } from "../request.js";
import { type InferRequest, InferRequestSchema, type InferResponse } from "./oip-schemas.js";

/** Runs one OIP request on a module the caller holds a lease on. */
export async function infer(module: LoadedModule, request: InferRequest): Promise<InferResponse> {
  const feeds = feedsFromJson(module.inputs, request.inputs);
  const outputNames = outputNamesFor(
    module.outputs,
    request.outputs?.map((output) => output.name),
  );
  let results: Awaited<ReturnType<LoadedModule["run"]>>;
  try {
    results = await module.run(feeds, outputNames);
  } catch (error) {
    throw inferenceFailed(error);
  }
  const response: InferResponse = {
    model_name: module.name,
    model_version: module.version,
    outputs: outputNames.map((name) => tensorToJson(name, results[name]!)),
  };
  if (request.id !== undefined) response.id = request.id;
  return response;
}

/** POST .../infer with and without a version segment. */
export function oipInferRoutes(deps: ScoringDeps): Hono {
  const app = new Hono();
  const handle = async (c: Context, version?: string): Promise<Response> => {
    if (c.req.header("inference-header-content-length") !== undefined) {
      // Not advertised in /v2 extensions; say so instead of failing to parse the binary tail as JSON.
      throw new ScoringError(
        "invalid_input",
        "the binary tensor data extension is not supported; send JSON data",
      );
    }
    const body = await readJsonBody(c);
    const module = resolveModule(deps.table, c.req.param("name")!, version);
    const started = performance.now();
    let ok = false;
    try {
      // Lookup and lease happen in the same tick, so an update in between cannot dispose this session.
      const response = await module.withLease(() => infer(module, parseWith(InferRequestSchema, body)));
      ok = true;
      return c.json(response);
    } finally {
      deps.recorder.record({
        module: module.name,
        version: module.version,
        latencyMs: performance.now() - started,
        ok,
      });
    }
  };
  app.post("/v2/models/:name/infer", (c) => handle(c));
  app.post("/v2/models/:name/versions/:version/infer", (c) => handle(c, c.req.param("version")));
  // Triton answers a wrong verb with 405 (reference/protocols.md §1.8); a 404 would suggest a wrong model.
  const wrongVerb = (c: Context): never => {
    throw new ScoringError("method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}; use POST`);
  };
  app.all("/v2/models/:name/infer", wrongVerb);
  app.all("/v2/models/:name/versions/:version/infer", wrongVerb);
  return app;
}

/**
 * OIP inference: POST /v2/models/{name}[/versions/{version}]/infer. JSON tensors in and out (flat,
 * row-major; INT64 as numbers), or raw tensor bytes with the binary tensor data extension
 * (oip-binary.ts) either way. Every request is recorded for telemetry. Each row gets a prediction id
 * (oip-predictions.ts), answered in the response's `parameters.prediction_ids` and published to the
 * prediction log, so `/v1/feedback` and the predictions stream work for OIP rows too.
 */
import { type Context, Hono } from "hono";
import type { ModuleDrift } from "../../drift/module-drift.js";
import { datatypeFromOrt } from "../../runtime/datatypes.js";
import { feedsFromJson, outputNamesFor, type RequestTensor } from "../../runtime/feeds.js";
import type { LoadedModule } from "../../runtime/loaded-module.js";
import { rowsOf } from "../../runtime/tensor-batch.js";
import { tensorToBinary } from "../../runtime/tensor-binary.js";
import { tensorToJson } from "../../runtime/tensor-json.js";
import type { ScoringDeps } from "../deps.js";
import { ScoringError } from "../errors.js";
import { oipPredictions, predictionIdsFor } from "../oip-predictions.js";
import { publishScored } from "../publish-predictions.js";
import { inferenceFailed, parseWith, readJsonBody, resolveModule } from "../request.js";
import { type InferBody, inferResponse, rawInputShape, readInferBody, sliceTail } from "./oip-binary.js";
import { type InferRequest, InferRequestSchema, type InferResponse } from "./oip-schemas.js";

/** A parsed request plus, per input, its raw bytes when they came as binary data. */
interface ParsedInfer {
  request: InferRequest;
  inputBytes: (Uint8Array | undefined)[];
  /** Raw binary requests get every output back as binary. */
  allBinary: boolean;
}

/** Turns any framing into one request shape, checked against the protocol's schema. */
export function parseInfer(module: LoadedModule, body: InferBody): ParsedInfer {
  if (body.kind === "raw") {
    if (module.inputs.length !== 1) {
      throw new ScoringError(
        "invalid_input",
        `raw binary requests need a model with one input; "${module.name}" has ${module.inputs.length}`,
      );
    }
    const spec = module.inputs[0]!;
    const shape = rawInputShape(spec, body.bytes.length);
    const request: InferRequest = {
      inputs: [
        {
          name: spec.name,
          shape,
          datatype: spec.datatype,
          data: undefined,
          parameters: { binary_data_size: body.bytes.length },
        },
      ],
    };
    return { request, inputBytes: [body.bytes], allBinary: true };
  }
  const request = parseWith(InferRequestSchema, body.json);
  const sizes = request.inputs.map((input) => input.parameters?.binary_data_size);
  if (body.kind === "json") {
    if (sizes.some((size) => size !== undefined)) {
      throw new ScoringError(
        "invalid_input",
        "binary_data_size is given but the request has no Inference-Header-Content-Length header",
      );
    }
    return { request, inputBytes: sizes.map(() => undefined), allBinary: false };
  }
  return { request, inputBytes: sliceTail(sizes, body.tail), allBinary: false };
}

/** What one OIP request produced: the answer's JSON and binary parts, and its rows for the log. */
export interface InferResult {
  response: InferResponse;
  binary: Uint8Array[];
  /** One per row (also in `response.parameters.prediction_ids`); absent past MAX_ID_ROWS. */
  predictionIds?: string[];
  /** Postprocessed predictions per row, when the returned outputs allow them. */
  predictions?: unknown[];
}

/** Runs one OIP request on a module the caller holds a lease on. */
export async function infer(
  module: LoadedModule,
  parsed: ParsedInfer,
  drift?: ModuleDrift,
): Promise<InferResult> {
  const { request, inputBytes } = parsed;
  const tensors: RequestTensor[] = request.inputs.map((input, i) => ({
    name: input.name,
    shape: input.shape,
    datatype: input.datatype,
    data: input.data,
    bytes: inputBytes[i],
  }));
  const feeds = feedsFromJson(module.inputs, tensors, module.manifest.runtime.missingAsNaN);
  const outputNames = outputNamesFor(
    module.outputs,
    request.outputs?.map((output) => output.name),
  );
  const rows = rowsOf(feeds, module.inputs);
  // Before the run: a worker executor takes ownership of the feeds' buffers.
  const captured = drift?.capture(feeds, rows);
  let results: Awaited<ReturnType<LoadedModule["run"]>>;
  try {
    results = await module.run(feeds, outputNames);
  } catch (error) {
    throw inferenceFailed(error);
  }
  const predictionIds = predictionIdsFor(rows);
  // Sampled rows carry the ids the client got, so feedback can label them.
  if (captured !== undefined) drift!.commit(captured, results, predictionIds);
  const predictions =
    predictionIds === undefined ? undefined : oipPredictions(module.manifest.postprocessing, results, rows);
  // binary_data on an output wins over the request's binary_data_output (Triton's rule).
  const everyOutput = parsed.allBinary || request.parameters?.binary_data_output === true;
  const wantsBinary = (name: string) =>
    request.outputs?.find((output) => output.name === name)?.parameters?.binary_data ?? everyOutput;
  const binary: Uint8Array[] = [];
  const response: InferResponse = {
    model_name: module.name,
    model_version: module.version,
    outputs: outputNames.map((name) => {
      const tensor = results[name]!;
      if (!wantsBinary(name)) return tensorToJson(name, tensor);
      const bytes = tensorToBinary(name, tensor);
      binary.push(bytes);
      const datatype = datatypeFromOrt(tensor.type)!; // tensorToBinary refused types OIP lacks
      return {
        name,
        datatype,
        shape: tensor.dims.map(Number),
        parameters: { binary_data_size: bytes.length },
      };
    }),
  };
  if (request.id !== undefined) response.id = request.id;
  // Last, in the JSON header: the rest of the answer stays byte for byte what it was.
  if (predictionIds !== undefined) response.parameters = { prediction_ids: predictionIds };
  return {
    response,
    binary,
    ...(predictionIds === undefined ? {} : { predictionIds }),
    ...(predictions === undefined ? {} : { predictions }),
  };
}

/** POST .../infer with and without a version segment. */
export function oipInferRoutes(deps: ScoringDeps): Hono {
  const app = new Hono();
  const handle = async (c: Context, version?: string): Promise<Response> => {
    const body = await readInferBody(c, readJsonBody);
    const module = resolveModule(deps.table, c.req.param("name")!, version);
    const started = performance.now();
    let ok = false;
    let predictions: readonly unknown[] | undefined;
    try {
      // Lookup and lease happen in the same tick, so an update in between cannot dispose this session.
      const drift = deps.drift?.forModule(module);
      const result = await module.withLease(() => infer(module, parseInfer(module, body), drift));
      ok = true;
      predictions = result.predictions;
      if (result.predictionIds !== undefined) {
        publishScored(deps.predictions, {
          module: module.name,
          version: module.version,
          predictionIds: result.predictionIds,
          ...(result.predictions === undefined ? {} : { predictions: result.predictions }),
        });
      }
      return inferResponse(c, result.response, result.binary);
    } finally {
      deps.recorder.record({
        module: module.name,
        version: module.version,
        latencyMs: performance.now() - started,
        ok,
        // Like the score route's: the prediction-shift gates read the window's output summaries.
        ...(predictions !== undefined ? { predictions } : {}),
      });
    }
  };
  app.post("/v2/models/:name/infer", (c) => handle(c));
  app.post("/v2/models/:name/versions/:version/infer", (c) => handle(c, c.req.param("version")));
  // Triton answers a wrong verb with 405 (Triton's HTTP server); a 404 would suggest a wrong model.
  const wrongVerb = (c: Context): never => {
    throw new ScoringError("method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}; use POST`);
  };
  app.all("/v2/models/:name/infer", wrongVerb);
  app.all("/v2/models/:name/versions/:version/infer", wrongVerb);
  return app;
}

/**
 * POST /v1/modules/{name}/score: named features, raw tensors or image bytes (score-image.ts) in,
 * post-processed predictions out. The module's manifest drives both ends: tabular or image
 * preprocessing makes the model input, postprocessing turns outputs into one prediction per row.
 */
import { randomUUID } from "node:crypto";
import { type Context, Hono } from "hono";
import { Tensor } from "onnxruntime-node";
import type { ImageGeometry } from "../../../modules/image-geometry.js";
import { boxSpace, postprocess, tabularFeeds } from "../../../modules/index.js";
import type { ModuleDrift } from "../../drift/module-drift.js";
import { feedsFromJson, type RequestTensor } from "../../runtime/feeds.js";
import type { Feeds, LoadedModule } from "../../runtime/loaded-module.js";
import { rowsOf } from "../../runtime/tensor-batch.js";
import { inferShape } from "../../runtime/tensor-json.js";
import type { ShadowScorer } from "../../shadow/shadow-scorer.js";
import type { ScoringDeps } from "../deps.js";
import { ScoringError } from "../errors.js";
import { publishScored } from "../publish-predictions.js";
import { inferenceFailed, parseWith, readJsonBody, resolveModule } from "../request.js";
import { prepareImages, readImageBody } from "./score-image.js";
import { type ScoreRequest, ScoreRequestSchema, type ScoreResponse } from "./score-schemas.js";

interface PreparedRequest {
  feeds: Feeds;
  batchSize: number;
  /** The request's rows, for per-feature telemetry (tabular requests only). */
  rows?: readonly Record<string, unknown>[];
  /** Where each image landed in the model input (image requests only), to map boxes back. */
  images?: readonly ImageGeometry[];
}

/** Turns a score body into session feeds for a module. */
export function prepare(module: LoadedModule, body: ScoreRequest): PreparedRequest {
  const pre = module.manifest.preprocessing;
  if (body.inputs !== undefined) {
    const tensors: RequestTensor[] = Object.entries(body.inputs).map(([name, value]) =>
      Array.isArray(value) ? { name, shape: inferShape(name, value), data: value } : { name, ...value },
    );
    const feeds = feedsFromJson(module.inputs, tensors, module.manifest.runtime.missingAsNaN);
    return { feeds, batchSize: rowsOf(feeds, module.inputs) };
  }
  if (pre.kind !== "tabular") {
    throw new ScoringError(
      "invalid_input",
      `module "${module.name}" has no tabular preprocessing; send model tensors as "inputs" (see GET /v1/modules)`,
    );
  }
  const rows = body.instances ?? [body.features!];
  const feeds: Feeds = {};
  for (const [name, tensor] of Object.entries(tabularFeeds(module.manifest, rows))) {
    feeds[name] = new Tensor("float32", tensor.data, tensor.shape);
  }
  return { feeds, batchSize: rows.length, rows };
}

/** Scores a prepared request on a module the caller holds a lease on. */
async function score(
  module: LoadedModule,
  prepared: PreparedRequest,
  drift: ModuleDrift | undefined,
  shadow: ShadowScorer | undefined,
): Promise<ScoreResponse> {
  // Before the run: a worker executor takes ownership of the feeds' buffers.
  const captured = drift?.capture(prepared.feeds, prepared.batchSize);
  const shadowFeeds = shadow?.capture(module, prepared.feeds);
  let outputs: Awaited<ReturnType<LoadedModule["run"]>>;
  try {
    outputs = await module.run(prepared.feeds);
  } catch (error) {
    throw inferenceFailed(error);
  }
  const spec = module.manifest.postprocessing;
  const predictions = postprocess(spec, outputs, prepared.batchSize, prepared.images);
  const predictionIds = predictions.map(() => randomUUID());
  if (captured !== undefined) drift!.commit(captured, outputs, predictionIds);
  // The answer is final; the candidate scores the same feeds after it, off the request path.
  if (shadowFeeds !== undefined)
    shadow!.score(module, shadowFeeds, prepared.batchSize, predictions, prepared.images);
  const boxes = boxSpace(spec, prepared.images);
  return {
    module: module.name,
    version: module.version,
    predictions,
    predictionIds,
    ...(prepared.images ? { images: [...prepared.images] } : {}),
    ...(boxes ? { boxes } : {}),
  };
}

/** POST /v1/modules/{name}/score. */
export function scoreRoutes(deps: ScoringDeps): Hono {
  const app = new Hono();
  app.post("/v1/modules/:name/score", async (c: Context) => {
    const images = await readImageBody(c);
    const body = images === undefined ? await readJsonBody(c) : undefined;
    const module = resolveModule(deps.table, c.req.param("name")!);
    const started = performance.now();
    let ok = false;
    let rows: PreparedRequest["rows"];
    let predictions: readonly unknown[] | undefined;
    try {
      // Lookup and lease happen in the same tick, so an update in between cannot dispose this session.
      const response = await module.withLease(async () => {
        const prepared: PreparedRequest =
          images === undefined
            ? prepare(module, parseWith(ScoreRequestSchema, body))
            : await prepareImages(module, images);
        rows = prepared.rows;
        return score(module, prepared, deps.drift?.forModule(module), deps.shadow);
      });
      ok = true;
      predictions = response.predictions;
      publishScored(deps.predictions, response, rows);
      return c.json(response);
    } finally {
      const pre = module.manifest.preprocessing;
      deps.recorder.record({
        module: module.name,
        version: module.version,
        latencyMs: performance.now() - started,
        ok,
        // Output summaries feed the hub's prediction-shift gates (agent/telemetry/recorder.ts).
        ...(predictions !== undefined ? { predictions } : {}),
        // Only requests that scored feed the input summaries: a refused row may be garbage.
        ...(ok && rows !== undefined && pre.kind === "tabular"
          ? { features: rows, featureNames: pre.features.map((feature) => feature.name) }
          : {}),
      });
    }
  });
  return app;
}

/**
 * The scoring server's Hono app, without a socket: tests can drive it with `app.request()`, and
 * server.ts binds it to a port. Route modules are mounted per resource; errors go through one
 * onError (errors.ts).
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { defaultInferenceRuntime } from "../runtime/inference-runtime.js";
import { PredictionLog } from "../runtime/prediction-log.js";
import type { ScoringDeps } from "./deps.js";
import { handleError, handleNotFound, ScoringError } from "./errors.js";
import { AgentMetrics } from "./metrics.js";
import { feedbackRoutes } from "./routes/feedback.js";
import { metricsRoutes } from "./routes/metrics.js";
import { modulesRoutes } from "./routes/modules.js";
import { oipInferRoutes } from "./routes/oip-infer.js";
import { oipModelRoutes } from "./routes/oip-models.js";
import { oipServerRoutes } from "./routes/oip-server.js";
import { predictionsRoutes } from "./routes/predictions.js";
import { scoreRoutes } from "./routes/score.js";

/**
 * Largest request body accepted unless the agent or the module says otherwise: 16 MiB holds a
 * 3×640×640 FP32 tensor (4.9 MB binary, about 10 MB as JSON numbers) or a few camera frames.
 */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface ScoringAppOptions extends ScoringDeps {
  /** The agent's body limit (config `maxBodyBytes`); a module's `runtime.maxBodyBytes` overrides it on its routes. */
  maxBodyBytes?: number;
}

/** The module a scoring path addresses (/v1/modules/:name/…, /v2/models/:name/…), if any. */
const MODULE_PATH = /^\/(?:v1\/modules|v2\/models)\/([^/]+)\//;

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Builds the app with every scoring route. */
export function createScoringApp(options: ScoringAppOptions): Hono {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  // Score publishes into the log that the predictions stream and feedback read: one instance.
  const deps = { ...options, predictions: options.predictions ?? new PredictionLog() };
  const app = new Hono();
  app.onError(handleError(options.log));
  app.notFound(handleNotFound);
  // The limit is the serving module's own when its manifest sets one (a detector taking 4K frames),
  // else the agent's; either way it is enforced while the body streams in, not after.
  app.use("*", (c, next) => {
    const name = MODULE_PATH.exec(c.req.path)?.[1];
    const module = name === undefined ? undefined : options.table.get(safeDecode(name));
    const limit = module?.manifest.runtime.maxBodyBytes ?? maxBodyBytes;
    const knob =
      module?.manifest.runtime.maxBodyBytes === undefined
        ? "the agent's maxBodyBytes"
        : `module "${module.name}" runtime.maxBodyBytes`;
    return bodyLimit({
      maxSize: limit,
      onError: () => {
        throw new ScoringError(
          "payload_too_large",
          `request body exceeds the limit of ${limit} bytes (${knob})`,
        );
      },
    })(c, next);
  });
  const metrics = new AgentMetrics(options.table, options.runtime ?? defaultInferenceRuntime());
  app.use("/v1/modules/:name/score", metrics.middleware("score"));
  app.use("/v2/models/:name/infer", metrics.middleware("infer"));
  app.use("/v2/models/:name/versions/:version/infer", metrics.middleware("infer"));
  options.registerMetrics?.(metrics.registry);
  app.route("/", metricsRoutes(metrics));
  app.route("/", modulesRoutes(options));
  app.route("/", scoreRoutes(deps));
  app.route("/", predictionsRoutes(deps));
  app.route("/", feedbackRoutes(deps));
  app.route("/", oipServerRoutes(options));
  app.route("/", oipModelRoutes(options));
  app.route("/", oipInferRoutes(options));
  return app;
}

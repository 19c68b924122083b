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

/** Largest request body accepted unless configured: ample for tabular batches, small for a device. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface ScoringAppOptions extends ScoringDeps {
  maxBodyBytes?: number;
}

/** Builds the app with every scoring route. */
export function createScoringApp(options: ScoringAppOptions): Hono {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  // Score publishes into the log that the predictions stream and feedback read: one instance.
  const deps = { ...options, predictions: options.predictions ?? new PredictionLog() };
  const app = new Hono();
  app.onError(handleError(options.log));
  app.notFound(handleNotFound);
  app.use(
    "*",
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => {
        throw new ScoringError(
          "payload_too_large",
          `request body exceeds the limit of ${maxBodyBytes} bytes`,
        );
      },
    }),
  );
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

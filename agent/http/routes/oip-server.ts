/**
 * OIP server routes: metadata and health. Health answers 200 with a JSON body and 503 with
 * `{"error"}` when not ready, which satisfies both the old (status only) and the new (body)
 * texts of the protocol (Open Inference Protocol v2, "Server Metadata").
 */
import { Hono } from "hono";
import type { ScoringDeps } from "../deps.js";
import { ScoringError } from "../errors.js";

export const SERVER_NAME = "edgefleet-agent";
/** Protocol extensions implemented, by Triton's names (oip-binary.ts). */
export const EXTENSIONS = ["binary_tensor_data"] as const;

/** GET /v2, /v2/health/live, /v2/health/ready. */
export function oipServerRoutes(deps: ScoringDeps): Hono {
  const app = new Hono();
  const metadata = () => ({ name: SERVER_NAME, version: deps.agentVersion, extensions: [...EXTENSIONS] });
  app.get("/v2", (c) => c.json(metadata()));
  app.get("/v2/", (c) => c.json(metadata()));
  app.get("/v2/health/live", (c) => c.json({ live: true }));
  app.get("/v2/health/ready", (c) => {
    if (deps.table.list().length === 0) throw new ScoringError("unavailable", "no model is loaded yet");
    return c.json({ ready: true });
  });
  return app;
}

/**
 * `GET /api/v1/stream`: server-sent events that tell a console what changed (`event: change`,
 * data a LiveMessage), so its pages re-read just what they show instead of polling every table.
 * The first event, `ready`, says the stream is live: a page reads its data after it, so no change
 * falls between the read and the stream. A comment line every 15 s keeps proxies from closing it.
 */
import { createRoute } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { requireRole } from "../http/auth.js";
import { type ApiApp, createRouter } from "../http/router.js";
import { ErrorResponses } from "../http/routes/schemas.js";
import type { LiveChanges, LiveMessage } from "./live-changes.js";

/** Quiet streams get a comment line this often (ms), well under common proxy idle timeouts. */
const KEEP_ALIVE_MS = 15_000;
/** Messages a slow console may fall behind by before they are merged into one "everything" (count). */
const MAX_QUEUED = 20;

const stream = createRoute({
  method: "get",
  path: "/api/v1/stream",
  summary: "Server-sent events: which devices, deployments, runs, monitors and registry entries changed",
  middleware: [requireRole("viewer")] as const,
  responses: {
    200: {
      description: "An event stream (text/event-stream)",
      content: { "text/event-stream": { schema: {} } },
    },
    ...ErrorResponses,
  },
});

export interface StreamRouteDeps {
  live: LiveChanges;
}

/** The console's change stream. */
export function streamRoutes(deps: StreamRouteDeps): ApiApp {
  const app = createRouter();
  app.openapi(
    stream,
    (c) =>
      streamSSE(c, async (sse) => {
        let queue: LiveMessage[] = [];
        let wake: (() => void) | undefined;
        let aborted = false;
        const unsubscribe = deps.live.subscribe((message) => {
          queue.push(message);
          // A console that does not read falls behind; everything-changed is what it needs to know.
          if (queue.length > MAX_QUEUED) queue = [everything()];
          wake?.();
        });
        sse.onAbort(() => {
          aborted = true;
          wake?.();
        });
        try {
          await sse.writeSSE({ event: "ready", data: "{}" });
          while (!aborted) {
            while (queue.length > 0 && !aborted) {
              await sse.writeSSE({ event: "change", data: JSON.stringify(queue.shift()) });
            }
            const idle = await new Promise<boolean>((resolve) => {
              const timer = setTimeout(() => resolve(true), KEEP_ALIVE_MS);
              wake = () => {
                clearTimeout(timer);
                resolve(false);
              };
            });
            wake = undefined;
            if (idle && !aborted) await sse.write(": keep-alive\n\n");
          }
        } finally {
          unsubscribe();
        }
      }) as never,
  );
  return app;
}

function everything(): LiveMessage {
  return { devices: "*", runs: "*", deployments: "*", monitors: "*", registry: "*", audit: "*" };
}

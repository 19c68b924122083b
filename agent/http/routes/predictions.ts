/**
 * GET /v1/modules/{name}/predictions: a Server-Sent Events stream of the module's predictions as
 * they are scored, for listeners that never score themselves (Node-RED flows, dashboards).
 *
 * Events: `ready` once (`{module, version}`, version null while the module is not served yet: a
 * flow may start listening before its module is deployed), then `prediction` per scored row
 * (`{id, module, version, prediction, inputs?, at}`, SSE id = prediction id), and `dropped`
 * (`{count}`) when this listener fell behind and lost predictions. A comment line every
 * `heartbeatMs` keeps proxies and idle timers from closing a quiet stream.
 *
 * The body is a pull stream: a prediction is taken from the subscription only when the socket
 * has room, so a slow reader fills its own bounded queue and loses its oldest predictions,
 * counted, while scoring never waits for it.
 */
import type { ServerResponse } from "node:http";
import { type Context, Hono } from "hono";
import { ModuleNameSchema } from "../../../modules/manifest.js";
import type { FeedItem, PredictionLog } from "../../runtime/prediction-log.js";
import type { ScoringDeps } from "../deps.js";
import { ScoringError } from "../errors.js";

/** A comment line this often (ms) on a quiet stream. */
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Largest `buffer` a listener may ask for. */
export const MAX_SUBSCRIBER_BUFFER = 10_000;

export interface PredictionsRouteOptions {
  heartbeatMs?: number;
}

const encoder = new TextEncoder();

/** One SSE frame; data is JSON on one line, so no line splitting is needed. */
function frame(event: string, data: unknown, id?: string): string {
  return `event: ${event}\n${id === undefined ? "" : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`;
}

function itemFrame(item: FeedItem): string {
  return item.kind === "dropped"
    ? frame("dropped", { count: item.count })
    : frame("prediction", item.record, item.record.id);
}

/** `?buffer=` as a positive integer within bounds, or undefined for the default. */
function bufferSize(c: Context): number | undefined {
  const raw = c.req.query("buffer");
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > MAX_SUBSCRIBER_BUFFER) {
    throw new ScoringError("invalid_input", `buffer must be an integer from 1 to ${MAX_SUBSCRIBER_BUFFER}`);
  }
  return value;
}

/** The Node response when served by @hono/node-server; undefined in process (app.request). */
function serverResponseOf(c: Context): ServerResponse | undefined {
  return (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
}

/** GET /v1/modules/{name}/predictions. */
export function predictionsRoutes(
  deps: ScoringDeps & { predictions: PredictionLog },
  options: PredictionsRouteOptions = {},
): Hono {
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const app = new Hono();
  app.get("/v1/modules/:name/predictions", (c) => {
    const name = c.req.param("name");
    if (!ModuleNameSchema.safeParse(name).success) {
      throw new ScoringError("invalid_input", `"${name}" is not a module name`);
    }
    const buffer = bufferSize(c);
    const subscription = deps.predictions.subscribe(name, buffer === undefined ? {} : { bufferSize: buffer });
    let heartbeat: NodeJS.Timeout | undefined;
    const stop = () => {
      clearInterval(heartbeat);
      subscription.close();
    };
    const body = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          const version = deps.table.get(name)?.version ?? null;
          controller.enqueue(encoder.encode(frame("ready", { module: name, version })));
          heartbeat = setInterval(() => {
            // A stalled reader already has bytes queued; a heartbeat would only add to them.
            if ((controller.desiredSize ?? 0) > 0) controller.enqueue(encoder.encode(": heartbeat\n\n"));
          }, heartbeatMs);
          heartbeat.unref();
        },
        async pull(controller) {
          const items = await subscription.next();
          if (items === undefined) {
            stop();
            // Ended by the server shutting down. The response's headers promised keep-alive, so
            // Node would return the socket to the idle pool after close() had already swept it, and
            // close() would wait for the client's keep-alive timeout: close it once flushed.
            const response = serverResponseOf(c);
            const socket = response?.socket;
            response?.once("finish", () => socket?.end(() => socket.destroy()));
            controller.close();
            return;
          }
          controller.enqueue(encoder.encode(items.map(itemFrame).join("")));
        },
        // The reader went away (node-server cancels the body when the socket closes).
        cancel: stop,
      },
      // Room for one frame batch: more would hide a slow reader from its subscription's buffer.
      { highWaterMark: 1 },
    );
    deps.log.debug({ event: "predictions.subscribed", module: name });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
      },
    });
  });
  return app;
}

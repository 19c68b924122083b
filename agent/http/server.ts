/**
 * Binds the scoring app to a TCP port with @hono/node-server. Loopback by default: the endpoint
 * has no authentication, so only processes on the device (Node-RED, local apps) should reach it
 * unless an operator opts in to another address.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { PredictionLog } from "../runtime/prediction-log.js";
import { createScoringApp, type ScoringAppOptions } from "./app.js";

export interface ScoringServerOptions extends ScoringAppOptions {
  /** Address to listen on; 127.0.0.1 unless configured. */
  host?: string;
  /** 0 picks a free port (tests). */
  port: number;
}

export interface ScoringServer {
  url: string;
  port: number;
  /** Stops accepting connections and closes idle ones; resolves when the server is closed. */
  close(): Promise<void>;
}

/** Starts the local scoring endpoint and resolves once it listens. */
export async function startScoringServer(options: ScoringServerOptions): Promise<ScoringServer> {
  const host = options.host ?? "127.0.0.1";
  // Made here rather than in the app so close() can end open prediction streams.
  const predictions = options.predictions ?? new PredictionLog();
  const app = createScoringApp({ ...options, predictions });
  const { server, info } = await new Promise<{ server: ReturnType<typeof serve>; info: AddressInfo }>(
    (resolve, reject) => {
      const server = serve({ fetch: app.fetch, port: options.port, hostname: host }, (info) =>
        resolve({ server, info }),
      );
      server.once("error", reject);
    },
  );
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const url = `http://${urlHost}:${info.port}`;
  options.log.info({ event: "scoring.listening", url });
  return {
    url,
    port: info.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Event streams never go idle on their own; ending them lets their sockets close.
        predictions.closeSubscribers();
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive sockets would otherwise hold close() open until they time out.
        if ("closeIdleConnections" in server) server.closeIdleConnections();
      }),
  };
}

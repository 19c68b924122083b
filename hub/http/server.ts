/**
 * The hub's HTTP socket, bound before the rest of the hub is built so its address is known to
 * everything that hands it out (provisioning answers, module download URLs). Until `serve` mounts
 * the API, requests get 503 `unavailable` with `Retry-After`, never a hang or a half-built hub.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { ERROR_STATUS } from "./errors.js";

export interface BoundHttpServer {
  /** Where this process listens, e.g. http://127.0.0.1:8470 (a wildcard host reads as 127.0.0.1). */
  readonly url: string;
  /** Starts answering with the API; call once. */
  serve(fetch: (request: Request) => Response | Promise<Response>): void;
  /** Stops listening and drops open connections; later calls return the first call's promise. */
  close(): Promise<void>;
}

function answerStarting(_request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(ERROR_STATUS.unavailable, { "content-type": "application/json", "retry-after": "1" });
  response.end(JSON.stringify({ error: { code: "unavailable", message: "the hub is starting" } }));
}

/** TLS for the HTTP port: the server certificate, and the CA client certificates are checked against. */
export interface HttpTls {
  cert: string;
  key: string;
  clientCa: string;
}

/**
 * Binds host:port (0 picks a free port); rejects with a clear message when the port is taken. With
 * `tls` it speaks HTTPS only and asks for a client certificate it does not require: devices with
 * one are identified by it (auth.ts), everyone else authenticates as before.
 */
export async function bindHttpServer(host: string, port: number, tls?: HttpTls): Promise<BoundHttpServer> {
  const server = tls
    ? createHttpsServer(
        { cert: tls.cert, key: tls.key, ca: tls.clientCa, requestCert: true, rejectUnauthorized: false },
        answerStarting,
      )
    : createServer(answerStarting);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? Object.assign(
              new Error(
                `HTTP port ${port} on ${host} is already in use; choose another with --port or EDGEFLEET_PORT`,
              ),
              { code: "EADDRINUSE" },
            )
          : error,
      );
    });
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  let serving = false;
  let closed: Promise<void> | undefined;
  return {
    url: `${tls ? "https" : "http"}://${host === "0.0.0.0" ? "127.0.0.1" : host}:${bound}`,
    serve(fetch) {
      if (serving) throw new Error("the HTTP server already serves an app");
      serving = true;
      server.removeListener("request", answerStarting);
      server.on("request", getRequestListener(fetch));
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

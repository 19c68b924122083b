/**
 * A minimal keep-alive HTTP/1.1 client for latency benchmarks: fetch's own overhead (~1 ms here)
 * would swamp the figures. Each call resolves with its latency in microseconds and rejects on a
 * status other than 200.
 */
import http from "node:http";

/** A client bound to one server; one socket, reused. */
export function keepAliveClient(base: string) {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const call = (method: string, path: string, payload?: Uint8Array, headers: Record<string, string> = {}) =>
    new Promise<number>((resolve, reject) => {
      const start = process.hrtime.bigint();
      const all: Record<string, string | number> = { ...headers };
      if (payload) all["content-length"] = payload.byteLength;
      const request = http.request(
        { host: url.hostname, port: url.port, path, method, agent, headers: all },
        (response) => {
          response.resume();
          response.on("end", () => {
            if (response.statusCode !== 200)
              reject(new Error(`${method} ${path} answered ${response.statusCode}`));
            else resolve(Number(process.hrtime.bigint() - start) / 1000);
          });
        },
      );
      request.on("error", reject);
      request.end(payload);
    });
  return {
    /** POSTs bytes with the given headers. */
    post: (path: string, payload: Uint8Array, headers: Record<string, string>) =>
      call("POST", path, payload, headers),
    /** GETs a path. */
    get: (path: string) => call("GET", path),
  };
}

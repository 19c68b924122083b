/**
 * A closed-loop HTTP load generator: `concurrency` keep-alive connections, each sending the next
 * request when the previous answers, for a fixed time. Plain node:http: fetch's own overhead
 * (~1 ms here) would swamp sub-millisecond figures.
 */
import http from "node:http";

export interface LoadResult {
  requests: number;
  /** Non-2xx answers. */
  failures: number;
  seconds: number;
  /** Requests per second. */
  throughput: number;
  /** Per-request latencies in microseconds. */
  latenciesUs: number[];
}

/** Sends POST `body` to `url` from `concurrency` loops for `durationMs`. */
export async function closedLoop(
  url: string,
  body: string,
  concurrency: number,
  durationMs: number,
): Promise<LoadResult> {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
  const latenciesUs: number[] = [];
  let failures = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const start = process.hrtime.bigint();
      const request = http.request(
        { host: target.hostname, port: target.port, path: target.pathname, method: "POST", agent, headers },
        (response) => {
          response.resume();
          response.on("end", () => {
            latenciesUs.push(Number(process.hrtime.bigint() - start) / 1000);
            if ((response.statusCode ?? 500) >= 300) failures++;
            resolve();
          });
        },
      );
      request.on("error", reject);
      request.end(body);
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await one();
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return {
    requests: latenciesUs.length,
    failures,
    seconds,
    throughput: latenciesUs.length / seconds,
    latenciesUs,
  };
}

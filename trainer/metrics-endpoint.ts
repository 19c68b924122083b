/**
 * A local HTTP endpoint for one script job's metrics, for code that would rather POST than print:
 * `POST $EDGEFLEET_METRICS_URL` with `{name, value, step?}`, an array of those, or
 * `{progress: {iteration, of, phase?}}` → 204. Listens on 127.0.0.1 on a random port under a random
 * path, so other local users cannot guess where to post; closed when the job ends.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import type { Progress } from "../hub-api/training.js";

const MAX_BODY = 1024 * 1024;
const PointSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_./-]{1,128}$/),
  value: z.number().finite(),
  step: z.number().int().min(0).optional(),
});
const PointsSchema = z.array(PointSchema).max(10_000);
const ProgressSchema = z.object({
  iteration: z.number().int().min(0),
  of: z.number().int().positive(),
  phase: z.string().max(64).optional(),
});

type Body = { points: z.infer<typeof PointSchema>[] } | { progress: Progress };

/** Picks the body's form by its shape first, so a refusal names the field that is wrong. */
function parseBody(json: unknown): Body {
  if (Array.isArray(json)) return { points: PointsSchema.parse(json) };
  if (json !== null && typeof json === "object" && "progress" in json)
    return { progress: ProgressSchema.parse((json as { progress: unknown }).progress) };
  if (json !== null && typeof json === "object" && "points" in json)
    return { points: PointsSchema.parse((json as { points: unknown }).points) };
  return { points: [PointSchema.parse(json)] };
}

export interface MetricsEndpoint {
  url: string;
  close(): Promise<void>;
}

export interface MetricsSink {
  point(name: string, value: number, step: number | undefined): void;
  progress(progress: Progress): void;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error("body too large"));
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

/** Starts the endpoint; each accepted point or progress goes to `sink`. */
export async function startMetricsEndpoint(sink: MetricsSink): Promise<MetricsEndpoint> {
  const path = `/${randomBytes(12).toString("hex")}/metrics`;
  const server = createServer(async (request, response) => {
    if (request.url !== path) return void response.writeHead(404).end();
    if (request.method !== "POST") return void response.writeHead(405, { allow: "POST" }).end();
    let parsed: Body;
    try {
      parsed = parseBody(JSON.parse(await readBody(request)));
    } catch (error) {
      const message = error instanceof z.ZodError ? z.prettifyError(error) : (error as Error).message;
      response.writeHead(400, { "content-type": "text/plain" }).end(`${message}\n`);
      return;
    }
    if ("progress" in parsed) sink.progress(parsed.progress);
    else for (const p of parsed.points) sink.point(p.name, p.value, p.step);
    response.writeHead(204).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

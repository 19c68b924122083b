/**
 * The worker side of the training API (.tmp contract "Workers"): register, claim, heartbeat, and the
 * per-attempt calls. A 409 `lease_lost` becomes LeaseLostError (the attempt must stop at once);
 * every other failure is a TrainerApiError that says whether trying again could help.
 */
import { z } from "zod";
import type { WorkerCapabilities } from "./capabilities.js";

export class TrainerApiError extends Error {
  override readonly name = "TrainerApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  /** Network failures and 5xx/429 may pass; other 4xx are the hub saying no. */
  get transient(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

/** The hub no longer considers this attempt ours (lost lease, cancelled and replaced, finished). */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
}

const ClaimSchema = z.object({
  runId: z.string().min(1),
  attempt: z.number().int().positive(),
  leaseMs: z.number().positive(),
  heartbeatMs: z.number().positive(),
  spec: z
    .object({
      experiment: z.string(),
      task: z.enum(["classification", "regression"]),
      target: z.string(),
      recipe: z.string(),
      params: z.record(z.string(), z.unknown()).optional(),
      seed: z.number().optional(),
      split: z.object({ validation: z.number(), test: z.number() }).optional(),
      maxCategories: z.number().int().positive().optional(),
      overrides: z.record(z.string(), z.string()).optional(),
      script: z.object({ snapshot: z.string(), command: z.string() }).optional(),
    })
    .passthrough(),
  dataset: z
    .object({
      name: z.string(),
      version: z.string(),
      format: z.enum(["csv", "jsonl"]),
      url: z.string(),
    })
    .passthrough(),
  snapshot: z.object({ sha256: z.string(), url: z.string() }).optional(),
  extraRows: z.object({ url: z.string() }).optional(),
});
export type Claim = z.infer<typeof ClaimSchema>;
export type RunSpec = Claim["spec"];

const HeartbeatSchema = z.object({
  leaseMs: z.number().optional(),
  cancel: z.array(z.string()).default([]),
  /** Runs whose attempt is no longer ours (swept, replaced): the worker stops them. */
  lost: z.array(z.string()).default([]),
});
export type HeartbeatAnswer = z.infer<typeof HeartbeatSchema>;

export interface LogLine {
  stream: "stdout" | "stderr" | "system";
  text: string;
  at?: string;
}
export interface MetricPoint {
  name: string;
  value: number;
  step: number;
  at?: string;
}
export interface Progress {
  iteration: number;
  of: number;
  phase?: string;
}
export interface FailBody {
  error: { code: string; message: string };
  retryable: boolean;
}

export interface TrainerHubApiOptions {
  url: string;
  token: string;
}

/** Thin fetch wrapper over `/api/v1` with the worker's bearer token. */
export class TrainerHubApi {
  readonly #base: string;
  readonly #token: string;

  constructor(options: TrainerHubApiOptions) {
    this.#base = options.url.replace(/\/$/, "");
    this.#token = options.token;
  }

  get url(): string {
    return this.#base;
  }

  register(body: { id: string; name: string; capabilities: WorkerCapabilities }): Promise<unknown> {
    return this.#json("POST", "/api/v1/workers", body);
  }

  /** Long-polls for a job; undefined when none arrived within `waitMs`. */
  async claim(workerId: string, waitMs: number, signal?: AbortSignal): Promise<Claim | undefined> {
    const answer = await this.#json<{ claim?: unknown } | undefined>(
      "POST",
      `/api/v1/workers/${encodeURIComponent(workerId)}/claim?waitMs=${waitMs}`,
      {},
      signal,
    );
    if (!answer?.claim) return undefined;
    const parsed = ClaimSchema.safeParse(answer.claim);
    if (!parsed.success)
      throw new TrainerApiError(
        200,
        "bad_claim",
        `the hub sent a claim this worker cannot read: ${parsed.error.message}`,
      );
    return parsed.data;
  }

  async heartbeat(workerId: string, runs: { runId: string; attempt: number }[]): Promise<HeartbeatAnswer> {
    const answer = await this.#json("POST", `/api/v1/workers/${encodeURIComponent(workerId)}/heartbeat`, {
      runs,
    });
    return HeartbeatSchema.parse(answer ?? {});
  }

  logs(runId: string, attempt: number, lines: LogLine[]): Promise<unknown> {
    return this.#json("POST", `${this.#attempt(runId, attempt)}/logs`, { lines });
  }

  metrics(runId: string, attempt: number, body: { points?: MetricPoint[]; progress?: Progress }) {
    return this.#json("POST", `${this.#attempt(runId, attempt)}/metrics`, body);
  }

  async uploadModel(runId: string, attempt: number, onnx: Uint8Array): Promise<{ sha256: string }> {
    return this.#json("POST", `${this.#attempt(runId, attempt)}/model`, onnx);
  }

  complete(runId: string, attempt: number, body: { onnxSha256: string; result: Record<string, unknown> }) {
    return this.#json("POST", `${this.#attempt(runId, attempt)}/complete`, body);
  }

  fail(runId: string, attempt: number, body: FailBody) {
    return this.#json("POST", `${this.#attempt(runId, attempt)}/fail`, body);
  }

  /** Downloads a hub path (dataset content, snapshot) as bytes. */
  async download(path: string, signal?: AbortSignal): Promise<Uint8Array> {
    const response = await this.#fetch("GET", path, undefined, signal);
    if (!response.ok) throw await errorOf(response, path);
    return new Uint8Array(await response.arrayBuffer());
  }

  #attempt(runId: string, attempt: number): string {
    return `/api/v1/runs/${encodeURIComponent(runId)}/attempts/${attempt}`;
  }

  async #json<T = unknown>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const response = await this.#fetch(method, path, body, signal);
    if (!response.ok) throw await errorOf(response, path);
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async #fetch(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}` };
    const init: RequestInit = { method, headers };
    if (signal) init.signal = signal;
    if (body instanceof Uint8Array) {
      init.body = body;
      headers["content-type"] = "application/octet-stream";
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      headers["content-type"] = "application/json";
    }
    const url = /^https?:/.test(path) ? path : `${this.#base}${path}`;
    try {
      return await fetch(url, init);
    } catch (error) {
      if ((error as Error).name === "AbortError") throw error;
      const cause = (error as Error & { cause?: Error }).cause;
      throw new TrainerApiError(
        0,
        "unreachable",
        `cannot reach the hub at ${this.#base}: ${cause?.message ?? (error as Error).message}`,
      );
    }
  }
}

async function errorOf(response: Response, path: string): Promise<Error> {
  const text = await response.text().catch(() => "");
  let code = String(response.status);
  let message = text || response.statusText;
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    code = parsed.error?.code ?? code;
    message = parsed.error?.message ?? message;
  } catch {
    // not JSON: keep the raw text
  }
  if (response.status === 409 && code === "lease_lost") return new LeaseLostError(message);
  return new TrainerApiError(response.status, code, `${path}: ${message} (HTTP ${response.status})`);
}

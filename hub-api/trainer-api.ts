/**
 * The worker side of the training API (trainer/README.md "The worker protocol"): register, claim,
 * heartbeat, and the per-attempt calls, over the shared HubClient. A 409 `lease_lost` becomes
 * AttemptLostError (the attempt must stop at once); every other failure is a HubApiError, whose
 * `transient` says whether trying again could help.
 */
import type { ClientTls } from "../lib/tls/client-tls.js";
import { HubApiError, HubClient } from "./client.js";
import {
  type Claim,
  ClaimSchema,
  type FailBody,
  type HeartbeatAnswer,
  HeartbeatSchema,
  type MetricPoint,
  type Progress,
  type WorkerCapabilities,
  type WorkerLogLine,
} from "./training.js";

/** The hub no longer considers this attempt the worker's (lost lease, cancelled and replaced, finished). */
export class AttemptLostError extends Error {
  override readonly name = "AttemptLostError";
}

export interface TrainerHubApiOptions {
  url: string;
  token: string;
  tls?: ClientTls | undefined;
}

/** The worker protocol's calls, each a typed request through the shared client. */
export class TrainerHubApi {
  readonly #client: HubClient;

  constructor(options: TrainerHubApiOptions) {
    this.#client = new HubClient({
      url: options.url.replace(/\/$/, ""),
      token: options.token,
      tls: options.tls,
    });
  }

  get url(): string {
    return this.#client.url;
  }

  register(body: { id: string; name: string; capabilities: WorkerCapabilities }): Promise<unknown> {
    return this.#json("POST", "/api/v1/workers", body);
  }

  /**
   * Long-polls for a job; undefined when none arrived within `waitMs`. `freeGpus`: how many of the
   * worker's GPUs no running job holds (the hub offers only runs that fit them); all when absent.
   */
  async claim(
    workerId: string,
    waitMs: number,
    signal?: AbortSignal,
    freeGpus?: number,
  ): Promise<Claim | undefined> {
    const gpus = freeGpus === undefined ? "" : `&freeGpus=${freeGpus}`;
    const answer = await this.#json<{ claim?: unknown } | undefined>(
      "POST",
      `/api/v1/workers/${encodeURIComponent(workerId)}/claim?waitMs=${waitMs}${gpus}`,
      {},
      signal,
    );
    if (!answer?.claim) return undefined;
    const parsed = ClaimSchema.safeParse(answer.claim);
    if (!parsed.success)
      throw new HubApiError(
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

  logs(runId: string, attempt: number, lines: WorkerLogLine[]): Promise<unknown> {
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
    try {
      return await this.#client.bytes(path, signal);
    } catch (error) {
      throw withPath(error, path);
    }
  }

  #attempt(runId: string, attempt: number): string {
    return `/api/v1/runs/${encodeURIComponent(runId)}/attempts/${attempt}`;
  }

  async #json<T = unknown>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    try {
      return await this.#client.request<T>(method, path, body, {}, signal);
    } catch (error) {
      throw withPath(error, path);
    }
  }
}

/** A lost lease as AttemptLostError; other refusals name the path they came from. */
function withPath(error: unknown, path: string): unknown {
  if (!(error instanceof HubApiError) || error.status === 0) return error;
  if (error.status === 409 && error.code === "lease_lost") return new AttemptLostError(error.message);
  return new HubApiError(
    error.status,
    error.code,
    `${path}: ${error.message} (HTTP ${error.status})`,
    error.details,
  );
}

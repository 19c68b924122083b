/**
 * The one typed HTTP client of the hub's `/api/v1`: auth (operator token or device credentials), the
 * hub's error shape as HubApiError, JSON and byte bodies, server-sent event streams. The CLI, the
 * trainer worker (trainer-api.ts) and the simulator all call the hub through it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type ClientTls, tlsFetch } from "../lib/tls/client-tls.js";
import { IDEMPOTENCY_HEADER, IDEMPOTENT_POST_PATHS, retryableWithKey } from "./idempotency.js";

export class HubApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "HubApiError";
  }

  /** Whether trying again could help: the hub was unreachable, overloaded or failed (0, 408, 429, 5xx). */
  get transient(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

export interface HubClientOptions {
  url: string;
  token?: string;
  /** Basic credentials for device calls. */
  device?: { id: string; secret: string };
  /** CA bundle (and client certificate) for an https:// hub whose certificate the system does not trust. */
  tls?: ClientTls | undefined;
  /**
   * Send an `Idempotency-Key` on the creating POSTs (`hub-api/idempotency.ts`), `${prefix}-${n}`
   * for the client's nth, and send one that got no answer again with the same key, so a cut
   * connection never creates twice. The CLI gives each invocation a random prefix.
   */
  idempotency?: IdempotencyOptions;
}

export interface IdempotencyOptions {
  /** Unique per client (a random UUID); each keyed request adds its own number. */
  prefix: string;
  /** Tries per keyed request, the first included (default 6). */
  attempts?: number;
  /** Wait before the first retry, doubling after each (ms, default 250: 7.75 s over 6 tries). */
  firstDelayMs?: number;
}

export const IDEMPOTENT_RETRY_DEFAULTS = { attempts: 6, firstDelayMs: 250 } as const;

/** Calls the hub's `/api/v1` routes with auth and its error shape. */
export class HubClient {
  readonly #fetch: typeof fetch;
  /** Keyed requests sent so far: the number in the next key. */
  #keyed = 0;

  constructor(readonly options: HubClientOptions) {
    this.#fetch = tlsFetch(options.tls);
  }

  /** The hub's base URL as given. */
  get url(): string {
    return this.options.url;
  }

  /** Sends a request and parses the JSON answer; hub errors become HubApiError. */
  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<T> {
    const init: RequestInit = { method, headers: { ...this.authHeaders(), ...headers } };
    if (signal) init.signal = signal;
    if (body instanceof Uint8Array) {
      init.body = body;
      (init.headers as Record<string, string>)["content-type"] ??= "application/octet-stream";
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    const idempotency = this.options.idempotency;
    if (!idempotency || method !== "POST" || !IDEMPOTENT_POST_PATHS.has(path.split("?")[0] ?? "")) {
      return this.answer<T>(path, init);
    }
    (init.headers as Record<string, string>)[IDEMPOTENCY_HEADER] = `${idempotency.prefix}-${++this.#keyed}`;
    const attempts = idempotency.attempts ?? IDEMPOTENT_RETRY_DEFAULTS.attempts;
    let delayMs = idempotency.firstDelayMs ?? IDEMPOTENT_RETRY_DEFAULTS.firstDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.answer<T>(path, init);
      } catch (error) {
        const again =
          error instanceof HubApiError && retryableWithKey(error.status, error.details) && attempt < attempts;
        if (!again || signal?.aborted) throw error;
        await sleep(delayMs, undefined, signal ? { signal } : {});
        delayMs *= 2;
      }
    }
  }

  /** One send and its parsed answer. */
  private async answer<T>(path: string, init: RequestInit): Promise<T> {
    const response = await this.send(path, init);
    const text = await response.text();
    if (!response.ok) throw refusal(response, text);
    return (text ? safeJson(text) : undefined) as T;
  }

  /** Opens a streaming GET (server-sent events) and returns the response once headers arrive. */
  async open(path: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    const response = await this.send(path, {
      headers: { ...this.authHeaders(), ...headers },
      ...(signal ? { signal } : {}),
    });
    if (!response.ok) throw refusal(response, await response.text());
    return response;
  }

  /** GETs a path (or an absolute URL the hub handed out) as bytes. */
  async bytes(path: string, signal?: AbortSignal): Promise<Uint8Array> {
    const response = await this.send(path, {
      headers: this.authHeaders(),
      ...(signal ? { signal } : {}),
    });
    if (!response.ok) throw refusal(response, await response.text().catch(() => ""));
    return new Uint8Array(await response.arrayBuffer());
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  post<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("POST", path, body);
  }

  /** fetch, with an unreachable hub as a HubApiError (an abort the caller asked for stays itself). */
  private async send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.#fetch(this.resolve(path), init);
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new HubApiError(
        0,
        "unreachable",
        `cannot reach the hub at ${this.options.url}: ${(error as Error).cause ?? (error as Error).message}`,
      );
    }
  }

  /** An absolute URL stays as it is; a path is appended to the hub URL, keeping any path prefix it has. */
  private resolve(path: string): string {
    if (/^https?:\/\//.test(path)) return path;
    return `${this.options.url.replace(/\/+$/, "")}${path.startsWith("/") ? path : `/${path}`}`;
  }

  private authHeaders(): Record<string, string> {
    if (this.options.token) return { authorization: `Bearer ${this.options.token}` };
    if (this.options.device) {
      const basic = Buffer.from(`${this.options.device.id}:${this.options.device.secret}`).toString("base64");
      return { authorization: `Basic ${basic}` };
    }
    return {};
  }
}

/** The hub's error shape (`{error: {code, message, details}}`) of a refused request, as a HubApiError. */
function refusal(response: Response, text: string): HubApiError {
  const error = (
    safeJson(text) as { error?: { code?: string; message?: string; details?: unknown } } | undefined
  )?.error;
  return new HubApiError(
    response.status,
    error?.code ?? String(response.status),
    error?.message ?? (text || response.statusText),
    error?.details,
  );
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A small typed client for the hub API, used by the CLI (and tests). */

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
}

export interface HubClientOptions {
  url: string;
  token?: string;
  /** Basic credentials for device calls. */
  device?: { id: string; secret: string };
}

/** Calls the hub's `/api/v1` routes with auth and its error shape. */
export class HubClient {
  constructor(readonly options: HubClientOptions) {}

  /** Sends a request and parses the JSON answer; hub errors become HubApiError. */
  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const init: RequestInit = { method, headers: { ...this.authHeaders(), ...headers } };
    if (body instanceof Uint8Array) {
      init.body = body;
      (init.headers as Record<string, string>)["content-type"] ??= "application/octet-stream";
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
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

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  post<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("POST", path, body);
  }

  /** fetch, with an unreachable hub as a HubApiError (an abort the caller asked for stays itself). */
  private async send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(new URL(path, this.options.url), init);
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new HubApiError(
        0,
        "unreachable",
        `cannot reach the hub at ${this.options.url}: ${(error as Error).cause ?? (error as Error).message}`,
      );
    }
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

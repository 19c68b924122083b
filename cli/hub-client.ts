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
    let response: Response;
    try {
      response = await fetch(new URL(path, this.options.url), init);
    } catch (error) {
      throw new HubApiError(
        0,
        "unreachable",
        `cannot reach the hub at ${this.options.url}: ${(error as Error).cause ?? (error as Error).message}`,
      );
    }
    const text = await response.text();
    const json = text ? safeJson(text) : undefined;
    if (!response.ok) {
      const error = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)
        ?.error;
      throw new HubApiError(
        response.status,
        error?.code ?? String(response.status),
        error?.message ?? (text || response.statusText),
        error?.details,
      );
    }
    return json as T;
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  post<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("POST", path, body);
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

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The console's one way to the hub: relative URLs (`api/v1/...`), so it works at / and under a
 * reverse proxy's path prefix, and the bearer token from the sign-in, never in a URL.
 */

const TOKEN_KEY = "edgefleet.token";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The token this tab signed in with (session storage: gone when the tab closes). */
export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** A URL under the API, with query parameters left out when empty. */
export function apiPath(
  path: string,
  query: Record<string, string | number | undefined | null> = {},
): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query))
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  const qs = params.toString();
  return `api/v1/${path}${qs ? `?${qs}` : ""}`;
}

/** Calls the API; rejects with ApiError carrying the hub's error code and message. */
export async function api<T>(path: string, init: RequestInit = {}, token = storedToken()): Promise<T> {
  const headers = new Headers(init.headers);
  if (token) headers.set("authorization", `Bearer ${token}`);
  if (init.body !== undefined) headers.set("content-type", "application/json");
  const response = await fetch(path.startsWith("api/") ? path : `api/v1/${path}`, { ...init, headers });
  const text = await response.text();
  const body = text ? (JSON.parse(text) as unknown) : null;
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(response.status, error?.code ?? "error", error?.message ?? response.statusText);
  }
  return body as T;
}

/** Who the token belongs to. */
export interface Me {
  kind: "operator";
  name: string;
  role: "viewer" | "operator" | "admin";
}

const RANK = { viewer: 0, operator: 1, admin: 2 } as const;

/** Whether the signed-in role may do what needs `role` (the API checks again). */
export function may(me: Me | null, role: keyof typeof RANK): boolean {
  return me !== null && RANK[me.role] >= RANK[role];
}

/**
 * Reads a server-sent event stream with fetch (EventSource cannot send a bearer header) and
 * calls `onEvent` per event until `signal` aborts. Resolves when the stream ends.
 */
export async function readEvents(
  path: string,
  onEvent: (event: string, data: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const token = storedToken();
  const response = await fetch(path, {
    headers: token ? { authorization: `Bearer ${token}`, accept: "text/event-stream" } : {},
    signal,
  });
  if (!response.ok || !response.body) throw new ApiError(response.status, "stream", response.statusText);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length > 0) onEvent(event, data.join("\n"));
      end = buffer.indexOf("\n\n");
    }
  }
}

/**
 * HTTP calls from Node-RED to a local edgefleet agent, with one error type that tells the nodes
 * what to show: `offline` (the agent cannot be reached or did not answer in time) or the agent's
 * own refusal (`status`, `code` and `message` from its `{"error": {code, message}}` body).
 * Uses Node's global fetch (Node >= 18), so the package has no runtime dependencies.
 */

/** An agent call that failed; `offline` is true when no answer came back at all. */
class AgentError extends Error {
  /**
   * @param {string} message
   * @param {{offline?: boolean, status?: number, code?: string, details?: unknown}} [info]
   */
  constructor(message, info = {}) {
    super(message);
    this.name = "AgentError";
    this.offline = info.offline === true;
    this.status = info.status;
    this.code = info.code ?? (this.offline ? "offline" : "error");
    this.details = info.details;
  }
}

/** Joins the agent's base URL and a path without doubling or losing the slash. */
function joinUrl(base, path) {
  return `${String(base).replace(/\/+$/, "")}${path}`;
}

/** Turns a fetch failure (refused, reset, DNS, timeout) into an offline AgentError. */
function offlineError(url, error) {
  if (error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return new AgentError(`edgefleet agent at ${url} did not answer in time`, { offline: true });
  }
  const cause = error?.cause?.code ?? error?.cause?.message ?? error?.message ?? String(error);
  return new AgentError(`edgefleet agent at ${url} is unreachable (${cause})`, { offline: true });
}

/** Reads an error answer's `{"error": {code, message, details}}`, tolerating other shapes. */
async function refusal(response) {
  const text = await response.text().catch(() => "");
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const error = body?.error;
  const message = typeof error === "string" ? error : (error?.message ?? (text || `HTTP ${response.status}`));
  return new AgentError(`edgefleet agent refused the request (${response.status}): ${message}`, {
    status: response.status,
    code: typeof error === "object" && error?.code ? error.code : `http_${response.status}`,
    details: typeof error === "object" ? error?.details : undefined,
  });
}

/**
 * Sends one request and returns the parsed JSON answer.
 * @param {{url: string, timeout: number}} agent base URL and timeout in ms
 * @param {string} method
 * @param {string} path starting with "/"
 * @param {{json?: unknown, bytes?: Buffer, contentType?: string}} [body]
 */
async function requestJson(agent, method, path, body = {}) {
  const url = joinUrl(agent.url, path);
  const init = {
    method,
    headers: { accept: "application/json" },
    signal: AbortSignal.timeout(agent.timeout),
  };
  if (body.bytes !== undefined) {
    init.body = body.bytes;
    init.headers["content-type"] = body.contentType ?? "application/octet-stream";
  } else if (body.json !== undefined) {
    init.body = JSON.stringify(body.json);
    init.headers["content-type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw offlineError(agent.url, error);
  }
  if (!response.ok) throw await refusal(response);
  try {
    return await response.json();
  } catch (error) {
    throw new AgentError(`edgefleet agent sent an answer that is not JSON: ${error.message}`, {
      status: response.status,
    });
  }
}

/** The parts of an error a flow can act on (Catch nodes only see msg.error's message). */
function errorInfo(error) {
  return {
    // Errors found before calling the agent are the message's fault, like the agent's own 400s.
    code: error.code || (error.name === "AgentError" ? "error" : "invalid_input"),
    offline: error.offline === true,
    ...(error.status === undefined ? {} : { status: error.status }),
    message: error.message,
    ...(error.details === undefined ? {} : { details: error.details }),
  };
}

/** The node status for a failed agent call: offline is a yellow ring, a refusal a red one. */
function failureStatus(error) {
  return error.offline
    ? { fill: "yellow", shape: "ring", text: "agent offline" }
    : { fill: "red", shape: "ring", text: String(error.code || "error").slice(0, 20) };
}

module.exports = { AgentError, errorInfo, failureStatus, joinUrl, offlineError, refusal, requestJson };

/**
 * A long-lived subscription to an agent's predictions stream (`GET /v1/modules/{name}/predictions`,
 * Server-Sent Events) that survives the agent restarting: on an error, a closed stream or a quiet
 * one (no event and no heartbeat for `idleTimeoutMs`), it reconnects with exponential back-off,
 * reset once the agent says `ready` again. A refusal (4xx, e.g. an invalid module name) stops it:
 * retrying cannot fix a configuration error.
 */

const { AgentError, joinUrl, offlineError, refusal } = require("./agent-client.js");

const DEFAULTS = {
  minBackoffMs: 1000,
  maxBackoffMs: 30_000,
  /** Two missed agent heartbeats (15 s each) and a margin. */
  idleTimeoutMs: 45_000,
};

/** Splits a text buffer into complete SSE frames; returns the frames and the unfinished rest. */
function splitFrames(buffered) {
  const frames = [];
  let rest = buffered.replace(/\r\n?/g, "\n");
  let end = rest.indexOf("\n\n");
  while (end >= 0) {
    frames.push(rest.slice(0, end));
    rest = rest.slice(end + 2);
    end = rest.indexOf("\n\n");
  }
  return { frames, rest };
}

/** Parses one frame into `{event, id, data}`; undefined for comment-only frames (heartbeats). */
function parseFrame(frame) {
  let event = "message";
  let id;
  const data = [];
  for (const line of frame.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "id") id = value;
    else if (field === "data") data.push(value);
  }
  if (data.length === 0) return undefined;
  return { event, id, data: data.join("\n") };
}

/**
 * Starts listening; returns `{ close() }`.
 * @param {object} options
 * @param {string} options.url the agent's base URL
 * @param {string} options.module
 * @param {(info: {module: string, version: string|null}) => void} options.onReady
 * @param {(record: object) => void} options.onPrediction
 * @param {(count: number) => void} options.onDropped
 * @param {(state: {state: "connecting"|"retrying"|"stopped", error?: Error, retryInMs?: number}) => void} options.onState
 */
function listenToPredictions(options) {
  const settings = { ...DEFAULTS, ...options };
  const url = joinUrl(settings.url, `/v1/modules/${encodeURIComponent(settings.module)}/predictions`);
  let closed = false;
  let failures = 0;
  let controller;
  let retryTimer;
  let idleTimer;

  const armIdle = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => controller?.abort(new Error("stream went quiet")), settings.idleTimeoutMs);
  };

  const dispatch = (frame) => {
    const parsed = parseFrame(frame);
    if (parsed === undefined) return;
    const data = JSON.parse(parsed.data);
    if (parsed.event === "ready") {
      failures = 0;
      settings.onReady(data);
    } else if (parsed.event === "prediction") settings.onPrediction(data);
    else if (parsed.event === "dropped") settings.onDropped(data.count);
  };

  const connect = async () => {
    controller = new AbortController();
    settings.onState({ state: "connecting" });
    try {
      let response;
      try {
        response = await fetch(url, { headers: { accept: "text/event-stream" }, signal: controller.signal });
      } catch (error) {
        throw offlineError(settings.url, error);
      }
      if (!response.ok) throw await refusal(response);
      armIdle();
      const decoder = new TextDecoder();
      let buffered = "";
      for await (const chunk of response.body) {
        armIdle();
        const { frames, rest } = splitFrames(buffered + decoder.decode(chunk, { stream: true }));
        buffered = rest;
        for (const frame of frames) dispatch(frame);
      }
      throw new AgentError("the agent closed the predictions stream", { offline: true });
    } catch (error) {
      clearTimeout(idleTimer);
      if (closed) return;
      const failure =
        error instanceof AgentError
          ? error
          : new AgentError(error?.message ?? String(error), { offline: true });
      if (!failure.offline && failure.status !== undefined && failure.status < 500) {
        settings.onState({ state: "stopped", error: failure });
        return;
      }
      const delay = Math.min(settings.maxBackoffMs, settings.minBackoffMs * 2 ** failures);
      failures++;
      settings.onState({ state: "retrying", error: failure, retryInMs: delay });
      retryTimer = setTimeout(connect, delay);
    }
  };

  connect();
  return {
    /** Stops listening for good; no reconnect follows. */
    close() {
      closed = true;
      clearTimeout(retryTimer);
      clearTimeout(idleTimer);
      controller?.abort();
    },
  };
}

module.exports = { listenToPredictions, parseFrame, splitFrames };

/**
 * Following a training run through `GET /runs/{id}/events` (SSE) until it ends. The stream carries
 * the run's status first and live events after; log lines written before it opened come from
 * `GET /runs/{id}/logs`, read once the stream is subscribed so none fall in between. A dropped
 * stream (hub restart, proxy timeout, network blip) is reopened, the backlog is read again from
 * the last log seq shown, and no line is shown twice.
 */
import { HubApiError, type HubClient } from "../hub-api/client.js";
import { TERMINAL_RUN_STATUSES } from "../hub-api/run-statuses.js";
import type { LogLine, Run } from "../hub-api/training.js";
import { readSse } from "./sse.js";

/** The log route's largest page. */
const LOG_PAGE = 1000;

export interface RunProgress {
  iteration: number;
  of: number;
  phase?: string;
  attempt?: number;
}

export interface RunMetricPoint {
  name: string;
  value: number;
  step?: number;
  attempt?: number;
}

export interface RunStatusEvent {
  status: string;
  attempt?: number;
  workerId?: string;
  [key: string]: unknown;
}

/** What a follower is told, in stream order. */
export interface RunEventHandlers {
  status(event: RunStatusEvent): void;
  log(line: LogLine): void;
  metric(point: RunMetricPoint): void;
  progress(progress: RunProgress): void;
}

export interface FollowOptions {
  signal?: AbortSignal;
  /** Wait between reconnects (default 1 s). */
  retryMs?: number;
  /** Consecutive failed reconnects before giving up (default 30). */
  maxRetries?: number;
}

/**
 * Streams a run's events into `handlers` until the run is terminal; returns the final run, or
 * undefined when `signal` stopped the following (the run itself goes on).
 */
export async function followRun(
  client: HubClient,
  runId: string,
  handlers: RunEventHandlers,
  options: FollowOptions = {},
): Promise<Run | undefined> {
  const path = `/api/v1/runs/${encodeURIComponent(runId)}`;
  const { signal } = options;
  let lastEventId: string | undefined;
  let lastSeq = -1;
  let failures = 0;
  const catchUp = async () => {
    for (const line of await fetchLogLines(client, runId, lastSeq)) {
      if (line.seq <= lastSeq) continue;
      lastSeq = line.seq;
      handlers.log(line);
    }
  };
  while (!signal?.aborted) {
    try {
      const headers: Record<string, string> = { accept: "text/event-stream" };
      if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
      const response = await client.open(`${path}/events`, headers, signal);
      failures = 0;
      if (!response.body) throw new HubApiError(0, "no_body", "the hub sent an empty event stream");
      let caughtUp = false;
      for await (const event of readSse(response.body)) {
        if (event.id !== undefined) lastEventId = event.id;
        // The first event means the hub is sending us live events: older lines come from the log route.
        if (!caughtUp) {
          caughtUp = true;
          await catchUp();
        }
        const data = parse(event.data);
        if (data === undefined) continue;
        if (event.event === "log") {
          const line = data as unknown as LogLine;
          if (typeof line.seq === "number") {
            if (line.seq <= lastSeq) continue;
            lastSeq = line.seq;
          }
          handlers.log(line);
        } else if (event.event === "status") handlers.status(data as unknown as RunStatusEvent);
        else if (event.event === "metric") handlers.metric(data as unknown as RunMetricPoint);
        else if (event.event === "progress") handlers.progress(data as unknown as RunProgress);
      }
    } catch (error) {
      if (signal?.aborted) return undefined;
      // The run does not exist, or we may not read it: reconnecting will not help.
      if (error instanceof HubApiError && error.status >= 400 && error.status < 500) throw error;
      if (++failures > (options.maxRetries ?? 30)) throw error;
    }
    // The stream ended or dropped: a finished run ends the following, anything else reconnects.
    const run = await client.get<Run>(path).catch((error: unknown) => {
      if (error instanceof HubApiError && error.status >= 400 && error.status < 500) throw error;
      return undefined;
    });
    if (run && TERMINAL_RUN_STATUSES.has(run.status)) {
      // Lines written after the stream closed (e.g. a worker's last batch) are still shown.
      await catchUp().catch(() => undefined);
      return run;
    }
    await sleep(options.retryMs ?? 1_000, signal);
  }
  return undefined;
}

/** Every log line of a run after `after` (-1: all), page by page. */
export async function fetchLogLines(client: HubClient, runId: string, after = -1): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  let cursor = after;
  for (;;) {
    const query = new URLSearchParams({ limit: String(LOG_PAGE) });
    if (cursor >= 0) query.set("after", String(cursor));
    const page = await client.get<{ lines: LogLine[]; next?: number }>(
      `/api/v1/runs/${encodeURIComponent(runId)}/logs?${query}`,
    );
    lines.push(...page.lines);
    const next = page.next ?? page.lines.at(-1)?.seq;
    if (page.lines.length === 0 || next === undefined || next <= cursor) break;
    cursor = next;
  }
  return lines;
}

function parse(data: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(data) as unknown;
    return value && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

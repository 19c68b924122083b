/**
 * The live stream: one connection per tab to `api/v1/stream`; pages say which topics they show and
 * re-read their (bounded) data when one changes. Reconnects with back-off; after a reconnect every
 * page re-reads, since changes may have been missed while the stream was down.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { apiPath, readEvents } from "./api.js";

export type Topic = "devices" | "runs" | "deployments" | "monitors" | "registry" | "audit";
type Message = Partial<Record<Topic, string[] | "*">>;
type Listener = (message: Message | "all") => void;

const listeners = new Set<Listener>();
const statusListeners = new Set<(live: boolean) => void>();
let controller: AbortController | undefined;
let connected = false;

function setConnected(value: boolean): void {
  connected = value;
  for (const l of statusListeners) l(value);
}

/** Opens the stream (once) and keeps it open until stopLive. */
export function startLive(): void {
  if (controller) return;
  const abort = new AbortController();
  controller = abort;
  void (async () => {
    let delay = 500;
    let first = true;
    while (!abort.signal.aborted) {
      try {
        await readEvents(
          apiPath("stream"),
          (event, data) => {
            if (event === "ready") {
              delay = 500;
              setConnected(true);
              if (!first) for (const l of listeners) l("all");
              first = false;
            } else if (event === "change") {
              const message = JSON.parse(data) as Message;
              for (const l of listeners) l(message);
            }
          },
          abort.signal,
        );
      } catch {
        // Network error, hub restart or 401: retry with back-off below.
      }
      setConnected(false);
      if (abort.signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  })();
}

export function stopLive(): void {
  controller?.abort();
  controller = undefined;
  setConnected(false);
}

/** Whether the stream is connected, for the header's live dot. */
export function useLiveStatus(): boolean {
  const [live, setLive] = useState(connected);
  useEffect(() => {
    statusListeners.add(setLive);
    return () => void statusListeners.delete(setLive);
  }, []);
  return live;
}

/** Calls `onChange` when one of `topics` changes (for `ids` only, when given). */
export function useLive(topics: Topic[], onChange: () => void, ids?: string[]): void {
  const callback = useRef(onChange);
  callback.current = onChange;
  const key = `${topics.join(",")}|${ids?.join(",") ?? ""}`;
  useEffect(() => {
    const listener: Listener = (message) => {
      if (message === "all") return callback.current();
      for (const topic of topics) {
        const changed = message[topic];
        if (!changed) continue;
        if (changed === "*" || !ids || changed.some((id) => ids.includes(id))) return callback.current();
      }
    };
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, [key]);
}

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  reload: () => void;
}

/**
 * Loads data, and loads it again when `deps` change or a live topic changes. At most one read is
 * in flight; changes during it cause exactly one more read, so a burst of changes costs two reads.
 */
export function useData<T>(
  load: () => Promise<T>,
  deps: unknown[],
  topics: Topic[],
  ids?: string[],
): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const state = useRef({ inFlight: false, again: false, generation: 0 });
  const loader = useRef(load);
  loader.current = load;

  const run = () => {
    const s = state.current;
    if (s.inFlight) {
      s.again = true;
      return;
    }
    s.inFlight = true;
    const generation = s.generation;
    loader
      .current()
      .then(
        (value) => {
          if (generation === state.current.generation) {
            setData(value);
            setError(undefined);
          }
        },
        (e: unknown) => {
          if (generation === state.current.generation)
            setError(e instanceof Error ? e : new Error(String(e)));
        },
      )
      .finally(() => {
        s.inFlight = false;
        if (s.again) {
          s.again = false;
          run();
        }
      });
  };
  useEffect(() => {
    state.current.generation++;
    state.current.again = false;
    state.current.inFlight = false;
    run();
  }, deps);
  useLive(topics, run, ids);
  return { data, error, reload: run };
}

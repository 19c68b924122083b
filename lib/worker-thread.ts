/**
 * CPU-heavy work in a worker thread, so the calling event loop (the hub's requests and leases, a
 * trainer's heartbeats) stays responsive. One protocol for every entry: the entry module calls
 * `serveThread(work)`; the thread posts `{progress}` per event, then `{done}` or `{error}`.
 *
 * Where the entry comes from: beside a compiled `.js` module, its compiled `.js` sibling. Beside a
 * TypeScript source (the test runner, `tsx`), there is no compiled sibling: with `fromSources` the
 * `.ts` sibling is loaded through tsx's loader when tsx can be resolved; otherwise `threadEntry`
 * answers null and the caller runs the work in its own thread (the same function, so the same result).
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parentPort, Worker, workerData } from "node:worker_threads";

/** A thread entry that can be started here. */
export type ThreadEntry =
  | { kind: "compiled"; url: URL }
  /** A TypeScript entry, started by a bootstrap that registers tsx's loader first. */
  | { kind: "sources"; url: URL; loader: string };

/** An error as it crosses the thread boundary (Error instances lose their class and fields). */
export interface ThreadError {
  name: string;
  message: string;
  code?: string;
  details?: unknown;
  stack?: string;
}

/**
 * The ES module of tsx's loader API (`register()`), or null where tsx is not installed (it comes
 * with the dev dependencies). Resolved through its package exports: the CommonJS variant that
 * require.resolve finds cannot register ESM hooks from a worker thread.
 */
function tsxLoader(): string | null {
  try {
    const manifest = createRequire(import.meta.url).resolve("tsx/package.json");
    const exports = JSON.parse(readFileSync(manifest, "utf8")).exports as Record<string, unknown>;
    const api = (exports["./esm/api"] as { import?: { default?: string } } | undefined)?.import?.default;
    return api ? new URL(api, pathToFileURL(manifest)).href : null;
  } catch {
    return null;
  }
}

/**
 * The entry `name` beside the module at `callerUrl` (pass `import.meta.url`), or null when only
 * an in-process run is possible: no compiled sibling, or running from sources without
 * `fromSources` or without tsx.
 */
export function threadEntry(
  callerUrl: string,
  name: string,
  options: { fromSources?: boolean } = {},
): ThreadEntry | null {
  if (callerUrl.endsWith(".js")) {
    const url = new URL(`./${name}.js`, callerUrl);
    return existsSync(fileURLToPath(url)) ? { kind: "compiled", url } : null;
  }
  if (!options.fromSources || !callerUrl.endsWith(".ts")) return null;
  const url = new URL(`./${name}.ts`, callerUrl);
  if (!existsSync(fileURLToPath(url))) return null;
  const loader = tsxLoader();
  return loader ? { kind: "sources", url, loader } : null;
}

function startWorker(entry: ThreadEntry, data: unknown): Worker {
  if (entry.kind === "compiled") return new Worker(entry.url, { workerData: data });
  // Loader hooks registered in this thread do not reach a new one (Node 20): the thread registers
  // its own before importing the entry. An import failure rejects here: the worker's "error" event.
  const bootstrap = `import(${JSON.stringify(entry.loader)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.url.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: data });
}

export interface RunThreadOptions<Progress> {
  onProgress?: (progress: Progress) => void;
  /** Aborting terminates the thread and rejects with `stopped(signal.reason)`. */
  signal?: AbortSignal;
  stopped?: (reason: unknown) => Error;
  /** Rebuilds the caller's error classes from what the thread posted (default: a plain Error). */
  revive?: (error: ThreadError) => Error;
}

/** A thread's error as a plain Error with its name, message and stack (the default `revive`). */
export function plainError(error: ThreadError): Error {
  const revived = new Error(error.message);
  revived.name = error.name;
  if (error.stack) revived.stack = error.stack;
  return revived;
}

/** Runs `entry` with `data` as its workerData; resolves with its `done` value. The thread is ended either way. */
export function runThread<Output, Progress = never>(
  entry: ThreadEntry,
  data: unknown,
  options: RunThreadOptions<Progress> = {},
): Promise<Output> {
  const { signal } = options;
  const revive = options.revive ?? plainError;
  return new Promise<Output>((resolve, reject) => {
    if (signal?.aborted) {
      reject(options.stopped?.(signal.reason) ?? new Error("stopped"));
      return;
    }
    const worker = startWorker(entry, data);
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      void worker.terminate();
      fn();
    };
    const onAbort = () => settle(() => reject(options.stopped?.(signal?.reason) ?? new Error("stopped")));
    signal?.addEventListener("abort", onAbort, { once: true });
    worker.on("message", (message: { progress?: Progress; done?: Output; error?: ThreadError }) => {
      if ("progress" in message) options.onProgress?.(message.progress as Progress);
      else if ("done" in message) settle(() => resolve(message.done as Output));
      else if (message.error) {
        const error = revive(message.error);
        settle(() => reject(error));
      }
    });
    worker.once("error", (error) => settle(() => reject(error)));
    worker.once("exit", (code) =>
      settle(() => reject(new Error(`the worker thread exited with code ${code}`))),
    );
  });
}

function threadError(error: unknown): ThreadError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  const { code, details } = error as Error & { code?: unknown; details?: unknown };
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === "string" ? { code } : {}),
    ...(details !== undefined ? { details } : {}),
    ...(error.stack ? { stack: error.stack } : {}),
  };
}

/** The entry side: runs `work` on this thread's workerData and posts its progress and outcome. */
export async function serveThread<Input, Output, Progress = never>(
  work: (input: Input, onProgress: (progress: Progress) => void) => Promise<Output>,
): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("serveThread runs only inside a worker thread");
  try {
    const output = await work(workerData as Input, (progress) => port.postMessage({ progress }));
    port.postMessage({ done: output });
  } catch (error) {
    const posted = threadError(error);
    try {
      port.postMessage({ error: posted });
    } catch {
      // Details that cannot be cloned are dropped rather than losing the error itself.
      const { details: _dropped, ...rest } = posted;
      port.postMessage({ error: rest });
    }
  }
}

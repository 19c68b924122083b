/**
 * A pool of inference worker threads that own onnxruntime sessions. Each session lives in one
 * worker (a session cannot be shared between threads); a new one goes to the worker with the
 * fewest. Per worker, three things keep it healthy:
 *
 * - crash: every pending request on the dead thread fails at once (WorkerCrashedError), a new
 *   thread starts (back-off when crashes repeat) and reloads the sessions; runs that arrive
 *   meanwhile wait for it instead of failing.
 * - recycle: onnxruntime-node has leaked native memory on repeated session create/release
 *   (upstream issue #25325). After `recycleAfterReleases` releases, or when process RSS passes
 *   `recycleRssBytes` after a release, a fresh thread loads the live sessions (make-before-break),
 *   takes their traffic, and the old thread is stopped once its in-flight runs finish. Off by
 *   default: see DEFAULT_RECYCLE_AFTER_RELEASES for what bench A5 measured on 1.30.
 * - idle: a worker left with no session is stopped, so a device serving only inline models
 *   carries no thread.
 *
 * Maintenance (load, release, recycle, restart) is serialised per worker; runs are not.
 */
import type { InferenceSession } from "onnxruntime-node";
import { type Logger, silentLogger } from "../../lib/log.js";
import { WorkerCrashedError } from "./runtime-errors.js";
import { WorkerHost } from "./worker-host.js";
import type { LoadResult, RunResult, WireTensors } from "./worker-protocol.js";

export interface InferencePoolOptions {
  /** The worker script (see worker-script.ts). */
  script: () => Promise<URL>;
  /** Worker threads; 1 suits a 2-core device (ORT threads do the parallel work). */
  workers?: number;
  /** Recycle a worker after this many session releases on it; 0 turns it off. */
  recycleAfterReleases?: number;
  /** Recycle a worker after a release when process RSS is above this; 0 turns it off. */
  recycleRssBytes?: number;
  log?: Logger;
}

/**
 * Off by default: on onnxruntime-node 1.30 RSS over repeated swaps plateaus at the make-before-break
 * high-water mark (two versions resident during a swap), and a recycled thread's memory stays with
 * the allocator (glibc keeps a dead thread's arena), so recycling raised RSS in bench A5. Turn it on
 * for builds that do leak per session (upstream issue #25325).
 */
export const DEFAULT_RECYCLE_AFTER_RELEASES = 0;
/** Crash restarts back off from this delay (doubling, while crashes repeat) to at most 10 s. */
const RESTART_BACKOFF = { baseMs: 100, maxMs: 10_000, quietMs: 30_000 };

export type PoolEvent =
  | { kind: "worker.started"; slot: number }
  | { kind: "worker.restarted"; slot: number; reason: "crash" | "recycle"; sessions: number }
  | { kind: "worker.stopped"; slot: number; reason: "idle" | "close" };

interface SessionSpec {
  path: string;
  options: InferenceSession.SessionOptions;
}

interface Slot {
  index: number;
  host: WorkerHost | undefined;
  sessions: Set<WorkerSession>;
  releases: number;
  lock: Promise<unknown>;
  lastCrashAt: number;
  backoffMs: number;
}

/** A session hosted by a pool worker. Runs wait while its worker restarts. */
export class WorkerSession {
  #host: Promise<WorkerHost>;
  released = false;

  constructor(
    readonly id: number,
    readonly spec: SessionSpec,
    readonly metadata: LoadResult,
    host: WorkerHost,
    private readonly pool: InferencePool,
    readonly slot: number,
  ) {
    this.#host = Promise.resolve(host);
  }

  /** Runs the session in its worker; the feeds' buffers in `transfer` are moved, not copied. */
  async run(feeds: WireTensors, outputNames: string[], transfer: ArrayBuffer[]): Promise<RunResult> {
    if (this.released) throw new Error(`session ${this.id} was released`);
    const host = await this.#host;
    return host.run({ op: "run", session: this.id, feeds, outputNames }, transfer);
  }

  /** Releases the session (and maybe recycles or stops its worker). */
  release(): Promise<void> {
    return this.pool.release(this);
  }

  /** @internal The pool points the session at another worker (or a pending one). */
  setHost(host: Promise<WorkerHost>): void {
    host.catch(() => undefined);
    this.#host = host;
  }

  /** @internal */
  host(): Promise<WorkerHost> {
    return this.#host;
  }
}

/** Worker threads that host sessions; see the file comment for the policies. */
export class InferencePool {
  readonly #slots: Slot[];
  readonly #listeners = new Set<(event: PoolEvent) => void>();
  readonly #log: Logger;
  #nextSession = 1;
  #closed = false;
  /** Worker restarts so far, by reason. */
  readonly restarts = { crash: 0, recycle: 0 };

  constructor(private readonly options: InferencePoolOptions) {
    this.#log = options.log ?? silentLogger;
    const count = Math.max(1, options.workers ?? 1);
    this.#slots = Array.from({ length: count }, (_, index) => ({
      index,
      host: undefined,
      sessions: new Set(),
      releases: 0,
      lock: Promise.resolve(),
      lastCrashAt: 0,
      backoffMs: 0,
    }));
  }

  /** Subscribes to worker lifecycle events; returns the unsubscribe function. */
  on(listener: (event: PoolEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sessions hosted now, over all workers. */
  get sessionCount(): number {
    return this.#slots.reduce((sum, slot) => sum + slot.sessions.size, 0);
  }

  /** Running worker threads. */
  get workerCount(): number {
    return this.#slots.filter((slot) => slot.host?.alive).length;
  }

  /** Creates a session in the least-loaded worker, starting the worker when needed. */
  load(path: string, options: InferenceSession.SessionOptions): Promise<WorkerSession> {
    if (this.#closed) return Promise.reject(new Error("the inference pool is closed"));
    const slot = this.#slots.reduce((best, s) => (s.sessions.size < best.sessions.size ? s : best));
    return this.#locked(slot, async () => {
      const host = await this.#ensureHost(slot);
      const id = this.#nextSession++;
      try {
        const metadata = await host.load(id, path, options);
        const session = new WorkerSession(id, { path, options }, metadata, host, this, slot.index);
        slot.sessions.add(session);
        return session;
      } catch (error) {
        await this.#stopIfIdle(slot);
        throw error;
      }
    });
  }

  /** @internal Releases a session; see WorkerSession.release. */
  release(session: WorkerSession): Promise<void> {
    const slot = this.#slots[session.slot]!;
    return this.#locked(slot, async () => {
      if (session.released) return;
      session.released = true;
      slot.sessions.delete(session);
      // The slot's thread hosts all its sessions; a dead one took the session with it. (Awaiting
      // session.host() here could wait on a crash restart queued behind this very lock.)
      const host = slot.host;
      if (host?.alive) {
        await host.release(session.id).catch((error: unknown) => {
          this.#log.warn({ event: "worker.release_failed", session: session.id, err: error });
        });
      }
      slot.releases++;
      if (await this.#stopIfIdle(slot)) return;
      const rss = process.memoryUsage.rss();
      const afterReleases = this.options.recycleAfterReleases ?? DEFAULT_RECYCLE_AFTER_RELEASES;
      const rssBound = this.options.recycleRssBytes ?? 0;
      if ((afterReleases > 0 && slot.releases >= afterReleases) || (rssBound > 0 && rss > rssBound)) {
        await this.#replace(slot, "recycle");
      }
    });
  }

  /** Recycles every worker now (operators and tests); resolves when the new threads serve. */
  async recycle(): Promise<void> {
    await Promise.all(
      this.#slots.map((slot) =>
        this.#locked(slot, async () => {
          if (slot.host !== undefined) await this.#replace(slot, "recycle");
        }),
      ),
    );
  }

  /** Requests sent to workers and not answered yet (runs, loads, releases). */
  get pendingRequests(): number {
    return this.#slots.reduce((sum, slot) => sum + (slot.host?.pending ?? 0), 0);
  }

  /**
   * For tests: makes worker `slot` throw an uncaught error when it reaches this request (after the
   * requests sent before it); requests sent after it are in flight when the thread dies.
   */
  crashWorker(slot = 0): void {
    const host = this.#slots[slot]?.host;
    if (host === undefined) throw new Error(`worker ${slot} is not running`);
    host.crash();
  }

  /** Stops every worker; hosted sessions can no longer run. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      this.#slots.map((slot) =>
        this.#locked(slot, async () => {
          const host = slot.host;
          slot.host = undefined;
          for (const session of slot.sessions) session.released = true;
          slot.sessions.clear();
          if (host) {
            await host.stop();
            this.#emit({ kind: "worker.stopped", slot: slot.index, reason: "close" });
          }
        }),
      ),
    );
  }

  #locked<T>(slot: Slot, fn: () => Promise<T>): Promise<T> {
    const result = slot.lock.then(fn);
    slot.lock = result.catch(() => undefined);
    return result;
  }

  async #ensureHost(slot: Slot): Promise<WorkerHost> {
    if (slot.host?.alive) return slot.host;
    slot.host = await this.#startHost(slot);
    slot.releases = 0;
    this.#emit({ kind: "worker.started", slot: slot.index });
    return slot.host;
  }

  async #startHost(slot: Slot): Promise<WorkerHost> {
    const script = await this.options.script();
    return WorkerHost.start(script, (host, error) => this.#onCrash(slot, host, error));
  }

  async #stopIfIdle(slot: Slot): Promise<boolean> {
    if (slot.sessions.size > 0 || slot.host === undefined) return slot.sessions.size === 0;
    const host = slot.host;
    slot.host = undefined;
    await host.idle();
    await host.stop();
    this.#emit({ kind: "worker.stopped", slot: slot.index, reason: "idle" });
    return true;
  }

  #onCrash(slot: Slot, host: WorkerHost, error: WorkerCrashedError): void {
    if (slot.host !== host || this.#closed) return;
    this.#log.error({ event: "worker.crashed", slot: slot.index, threadId: host.threadId, err: error });
    const now = Date.now();
    slot.backoffMs =
      now - slot.lastCrashAt > RESTART_BACKOFF.quietMs
        ? 0
        : Math.min(RESTART_BACKOFF.maxMs, Math.max(RESTART_BACKOFF.baseMs, slot.backoffMs * 2));
    slot.lastCrashAt = now;
    // Runs that come in while the new thread starts wait for it instead of hitting the dead one.
    let settle!: (host: Promise<WorkerHost>) => void;
    const next = new Promise<WorkerHost>((resolve) => {
      settle = (value) => resolve(value);
    });
    for (const session of slot.sessions) session.setHost(next);
    this.#locked(slot, async () => {
      if (slot.backoffMs > 0) await new Promise((resolve) => setTimeout(resolve, slot.backoffMs));
      const replaced = this.#replace(slot, "crash");
      settle(replaced.then(() => slot.host!));
      await replaced;
    }).catch((restartError: unknown) => {
      this.#log.error({ event: "worker.restart_failed", slot: slot.index, err: restartError });
    });
  }

  /**
   * Starts a new thread, loads the slot's sessions into it, then switches them over. A recycle
   * that cannot reload a session keeps the old thread; after a crash such a session stays failed.
   */
  async #replace(slot: Slot, reason: "crash" | "recycle"): Promise<void> {
    const old = slot.host;
    const fresh = await this.#startHost(slot);
    const failed = new Map<WorkerSession, Error>();
    for (const session of slot.sessions) {
      try {
        await fresh.load(session.id, session.spec.path, session.spec.options);
      } catch (error) {
        failed.set(session, error as Error);
      }
    }
    if (reason === "recycle" && failed.size > 0) {
      this.#log.warn({ event: "worker.recycle_aborted", slot: slot.index, err: [...failed.values()][0] });
      await fresh.stop();
      return;
    }
    slot.host = fresh;
    slot.releases = 0;
    for (const session of slot.sessions) {
      const error = failed.get(session);
      session.setHost(
        error === undefined
          ? Promise.resolve(fresh)
          : Promise.reject(
              new WorkerCrashedError(`session could not be reloaded after a worker crash: ${error.message}`),
            ),
      );
    }
    if (reason === "crash") this.restarts.crash++;
    else this.restarts.recycle++;
    this.#log.info({ event: "worker.restarted", slot: slot.index, reason, sessions: slot.sessions.size });
    this.#emit({ kind: "worker.restarted", slot: slot.index, reason, sessions: slot.sessions.size });
    if (old?.alive) {
      // Runs already sent to the old thread finish there; then its memory goes with it.
      await old.idle();
      await old.stop();
    }
  }

  #emit(event: PoolEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

/**
 * One inference worker thread seen from the main thread: request/response by id, and a clean
 * failure for every pending request when the thread dies. The thread is unref'd while nothing is
 * pending, so an idle worker never keeps a process alive that has nothing else to do.
 */
import { Worker } from "node:worker_threads";
import { WorkerCrashedError } from "./runtime-errors.js";
import type { LoadResult, RunResult, WorkerRequest, WorkerResponse } from "./worker-protocol.js";

type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, "id"> : never) : never;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** A started worker thread. */
export class WorkerHost {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #stopping = false;
  #dead = false;
  #lastError: Error | undefined;
  #idleWaiters: (() => void)[] = [];

  private constructor(
    worker: Worker,
    private readonly onCrash: (host: WorkerHost, error: WorkerCrashedError) => void,
  ) {
    this.#worker = worker;
    worker.on("message", (response: WorkerResponse) => this.#settle(response));
    worker.on("error", (error) => {
      this.#lastError = error;
    });
    worker.on("exit", (code) => this.#exited(code));
  }

  /** Starts a worker on `script` and resolves once it runs. */
  static start(
    script: URL,
    onCrash: (host: WorkerHost, error: WorkerCrashedError) => void,
  ): Promise<WorkerHost> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(script);
      const host = new WorkerHost(worker, onCrash);
      worker.once("online", () => {
        worker.off("error", reject);
        worker.unref();
        resolve(host);
      });
      worker.once("error", reject);
    });
  }

  /** The thread id, for logs. */
  get threadId(): number {
    return this.#worker.threadId;
  }

  /** Requests sent and not yet answered. */
  get pending(): number {
    return this.#pending.size;
  }

  /** False once the thread has exited, crashed or been stopped. */
  get alive(): boolean {
    return !this.#dead;
  }

  /** Loads a session under `session` (an id the pool picks). */
  load(session: number, path: string, options: object): Promise<LoadResult> {
    return this.#request({ op: "load", session, path, options }) as Promise<LoadResult>;
  }

  /** Runs a session; `transfer` lists the feeds' buffers to move instead of copy. */
  run(body: Omit<Extract<WorkerRequest, { op: "run" }>, "id">, transfer: ArrayBuffer[]): Promise<RunResult> {
    return this.#request(body, transfer) as Promise<RunResult>;
  }

  /** Releases a session in the worker. */
  release(session: number): Promise<void> {
    return this.#request({ op: "release", session }) as Promise<void>;
  }

  /** Makes the worker throw an uncaught error when it reads this request (tests of crash recovery). */
  crash(): void {
    this.#request({ op: "crash" }).catch(() => undefined);
  }

  /** Resolves when no request is pending. */
  idle(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Stops the thread on purpose, once nothing is pending. Never earlier: terminating a worker while
   * onnxruntime-node runs in it aborts the whole process (the binding throws a C++ Napi::Error
   * into a terminating isolate; measured with 1.30: "terminate called after throwing an instance
   * of 'Napi::Error'", exit 134).
   */
  async stop(): Promise<void> {
    if (this.#dead) return;
    this.#stopping = true;
    await this.idle();
    await this.#worker.terminate();
  }

  #request(body: RequestBody, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.#dead) return Promise.reject(new WorkerCrashedError("the inference worker is not running"));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) this.#worker.ref();
      this.#worker.postMessage({ ...body, id }, transfer);
    });
  }

  #settle(response: WorkerResponse): void {
    const pending = this.#pending.get(response.id);
    if (pending === undefined) return;
    this.#forget(response.id);
    if (response.ok) pending.resolve(response.result);
    else pending.reject(Object.assign(new Error(response.error.message), { name: response.error.name }));
  }

  #forget(id: number): void {
    this.#pending.delete(id);
    if (this.#pending.size > 0) return;
    if (!this.#dead) this.#worker.unref();
    for (const waiter of this.#idleWaiters.splice(0)) waiter();
  }

  #exited(code: number): void {
    this.#dead = true;
    const reason = this.#stopping
      ? "the inference worker was stopped"
      : `the inference worker crashed (exit code ${code}${this.#lastError ? `: ${this.#lastError.message}` : ""})`;
    const error = new WorkerCrashedError(`${reason}; the request failed`, { cause: this.#lastError });
    for (const [id, pending] of [...this.#pending]) {
      this.#forget(id);
      pending.reject(error);
    }
    if (!this.#stopping) this.onCrash(this, error);
  }
}

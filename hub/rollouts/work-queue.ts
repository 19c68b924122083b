/**
 * A controller work queue (after client-go's workqueue): keys, not events. A key queued twice
 * before it runs runs once; a key queued while it runs runs again afterwards; one key never runs
 * twice at once; up to `concurrency` keys run together.
 */

export interface WorkQueueOptions {
  concurrency: number;
  /** Processes one key; errors go to onError and the key is retried after `retryMs`. */
  work: (key: string) => Promise<void>;
  onError: (key: string, error: unknown) => void;
  /** Schedules a retry (the controller's clock, so tests control it). */
  retry: (key: string) => void;
}

export class WorkQueue {
  readonly #options: WorkQueueOptions;
  readonly #queued = new Set<string>();
  readonly #running = new Set<string>();
  readonly #dirty = new Set<string>();
  /** Waiters for a pass of a key that starts after they asked. */
  readonly #waiters = new Map<string, (() => void)[]>();
  #idle: (() => void)[] = [];
  #closed = false;

  constructor(options: WorkQueueOptions) {
    this.#options = options;
  }

  /** Queues a key (deduplicated). */
  add(key: string): void {
    if (this.#closed) return;
    if (this.#running.has(key)) this.#dirty.add(key);
    else this.#queued.add(key);
    this.#pump();
  }

  /** Queues a key and resolves after a pass that started after this call has finished. */
  addAndWait(key: string): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.#waiters.get(key) ?? [];
      list.push(resolve);
      this.#waiters.set(key, list);
      this.add(key);
    });
  }

  /** Resolves when nothing is queued or running. */
  whenIdle(): Promise<void> {
    if (this.#queued.size === 0 && this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Stops taking keys; resolves once running passes finish. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queued.clear();
    this.#dirty.clear();
    await this.whenIdle();
    for (const list of this.#waiters.values()) for (const resolve of list) resolve();
    this.#waiters.clear();
  }

  #pump(): void {
    for (const key of [...this.#queued]) {
      if (this.#running.size >= this.#options.concurrency) return;
      if (this.#running.has(key)) continue;
      this.#queued.delete(key);
      this.#running.add(key);
      const waiters = this.#waiters.get(key) ?? [];
      this.#waiters.delete(key);
      void this.#run(key, waiters);
    }
    if (this.#queued.size === 0 && this.#running.size === 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  async #run(key: string, waiters: (() => void)[]): Promise<void> {
    try {
      await this.#options.work(key);
    } catch (error) {
      this.#options.onError(key, error);
      if (!this.#closed) this.#options.retry(key);
    } finally {
      this.#running.delete(key);
      if (this.#dirty.delete(key) && !this.#closed) this.#queued.add(key);
      for (const resolve of waiters) resolve();
      this.#pump();
    }
  }
}

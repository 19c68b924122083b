/**
 * Runs async tasks one at a time per key (a device's messages stay in order) and up to `concurrency`
 * keys at once (devices do not wait on each other, and a slow store does not get flooded).
 */

type Task = () => Promise<void>;

export interface KeyedSerialQueueOptions {
  /** Keys running at the same time (count). */
  concurrency: number;
  /** Called with a task's error; the queue goes on with the next task. */
  onError: (key: string, error: unknown) => void;
}

export class KeyedSerialQueue {
  readonly #options: KeyedSerialQueueOptions;
  /** Tasks not yet started, per key; a key is present while it has a task waiting or running. */
  readonly #waiting = new Map<string, Task[]>();
  /** Keys with a task waiting and none running, oldest first: the next ones to get a slot. */
  readonly #ready: string[] = [];
  #running = 0;
  #size = 0;
  #listeners: (() => void)[] = [];

  constructor(options: KeyedSerialQueueOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new Error(`concurrency must be a positive integer, got ${options.concurrency}`);
    }
    this.#options = options;
  }

  /** Tasks queued or running (count). */
  get size(): number {
    return this.#size;
  }

  /** Queues a task behind the key's earlier ones. */
  push(key: string, task: Task): void {
    this.#size++;
    const tasks = this.#waiting.get(key);
    if (tasks) {
      tasks.push(task);
      return;
    }
    this.#waiting.set(key, [task]);
    this.#ready.push(key);
    this.#pump();
  }

  /** Resolves once at most `limit` tasks are queued or running. */
  whenAtMost(limit: number): Promise<void> {
    return this.#until(() => this.#size <= limit);
  }

  /** Resolves once every queued task has finished. */
  whenIdle(): Promise<void> {
    return this.whenAtMost(0);
  }

  #until(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!condition()) return;
        this.#listeners = this.#listeners.filter((listener) => listener !== check);
        resolve();
      };
      this.#listeners.push(check);
    });
  }

  #pump(): void {
    while (this.#running < this.#options.concurrency && this.#ready.length > 0) {
      this.#run(this.#ready.shift()!);
    }
  }

  #run(key: string): void {
    const tasks = this.#waiting.get(key)!;
    const task = tasks.shift()!;
    this.#running++;
    Promise.resolve()
      .then(task)
      .catch((error: unknown) => {
        try {
          this.#options.onError(key, error);
        } catch {
          // A failing error reporter must not stall the key.
        }
      })
      .finally(() => {
        this.#running--;
        this.#size--;
        // Back of the line, so one busy key cannot starve the others.
        if (tasks.length > 0) this.#ready.push(key);
        else this.#waiting.delete(key);
        for (const listener of [...this.#listeners]) listener();
        this.#pump();
      });
  }
}

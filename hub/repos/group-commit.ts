/**
 * Group commit for last-value-wins writes (a device's reported state): a call made while no write
 * is running starts one at once, so an idle hub waits for nothing; calls made while one is running
 * are gathered, keyed (a later value for a key replaces one still waiting), and written together
 * by the next. A rollout's burst of device reports thus costs a few multi-row statements instead
 * of one statement each, which is what kept the hub behind the broker.
 *
 * One value the database refuses must not cost the others their write: when a batch's write throws,
 * its halves are written apart (and theirs, down to single keys), so only the keys whose own write
 * fails are rejected, each with its own error. A batch of n keys with one bad value costs about
 * 2·log2(n) extra statements; a failure every key shares (the database is down) costs 2n−1 tries
 * before all n are rejected, which only happens when nothing could be stored anyway.
 */

/** Writes a batch; returns the keys it stored (the others get `missing(key)`). Throws: none stored. */
export type BatchWrite<V> = (batch: ReadonlyMap<string, V>) => Promise<ReadonlySet<string>>;

interface Waiting<V> {
  value: V;
  settles: { resolve: () => void; reject: (error: unknown) => void }[];
}

export class GroupCommit<V> {
  readonly #write: BatchWrite<V>;
  readonly #missing: (key: string) => Error;
  readonly #maxBatch: number;
  #waiting = new Map<string, Waiting<V>>();
  #running = false;

  constructor(options: { write: BatchWrite<V>; missing: (key: string) => Error; maxBatch: number }) {
    this.#write = options.write;
    this.#missing = options.missing;
    this.#maxBatch = Math.max(1, options.maxBatch);
  }

  /** Resolves once `value` (or a later value for the same key) is stored; rejects when it was not. */
  submit(key: string, value: V): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiting = this.#waiting.get(key);
      if (waiting) {
        waiting.value = value;
        waiting.settles.push({ resolve, reject });
      } else {
        this.#waiting.set(key, { value, settles: [{ resolve, reject }] });
      }
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#running || this.#waiting.size === 0) return;
    this.#running = true;
    void this.#pass().finally(() => {
      this.#running = false;
      this.#kick();
    });
  }

  async #pass(): Promise<void> {
    const taken = new Map<string, Waiting<V>>();
    for (const [key, waiting] of this.#waiting) {
      if (taken.size >= this.#maxBatch) break;
      taken.set(key, waiting);
    }
    for (const key of taken.keys()) this.#waiting.delete(key);
    await this.#writeIsolated([...taken]);
  }

  /** Writes these keys together; when that throws, each half apart, so a bad value fails alone. */
  async #writeIsolated(entries: readonly [string, Waiting<V>][]): Promise<void> {
    let stored: ReadonlySet<string>;
    try {
      stored = await this.#write(new Map(entries.map(([key, waiting]) => [key, waiting.value])));
    } catch (error) {
      if (entries.length === 1) {
        for (const settle of entries[0]![1].settles) settle.reject(error);
        return;
      }
      const half = Math.ceil(entries.length / 2);
      await this.#writeIsolated(entries.slice(0, half));
      await this.#writeIsolated(entries.slice(half));
      return;
    }
    for (const [key, waiting] of entries) {
      for (const settle of waiting.settles) {
        if (stored.has(key)) settle.resolve();
        else settle.reject(this.#missing(key));
      }
    }
  }
}

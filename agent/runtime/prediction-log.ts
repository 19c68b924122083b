/**
 * The agent's recent predictions, in process: the score route publishes every prediction here;
 * feedback joins a ground-truth label to a prediction by id (`find`), and live listeners (the
 * predictions event stream, Node-RED flows) tail it per module (`subscribe`).
 *
 * Everything is bounded. The id index keeps at most `capacity` predictions for at most `ttlMs`;
 * each subscriber has its own queue of `bufferSize` items, and a subscriber that falls behind
 * loses its oldest undelivered predictions, counted, instead of holding memory or slowing the
 * scoring path. Publishing never waits on a listener.
 */

/** One scored row, as listeners and feedback see it. */
export interface PredictionRecord {
  id: string;
  module: string;
  version: string;
  /** The postprocessed prediction; absent for OIP rows whose outputs do not allow one. */
  prediction?: unknown;
  /** The row's features (tabular requests) or a summary of the request's inputs. */
  inputs?: unknown;
  /** When it was scored (ISO 8601). */
  at: string;
}

/** What a subscriber reads: predictions, and how many were dropped because it fell behind. */
export type FeedItem = { kind: "prediction"; record: PredictionRecord } | { kind: "dropped"; count: number };

export interface PredictionLogOptions {
  /** Predictions kept for feedback lookups (default 10,000). */
  capacity?: number;
  /** How long a prediction can still receive feedback (default one hour). */
  ttlMs?: number;
  /** Milliseconds clock; tests inject one. */
  now?: () => number;
}

export const DEFAULT_LOG_CAPACITY = 10_000;
export const DEFAULT_LOG_TTL_MS = 60 * 60 * 1000;
/** Undelivered predictions one subscriber may hold before its oldest are dropped. */
export const DEFAULT_SUBSCRIBER_BUFFER = 256;

interface Entry {
  record: PredictionRecord;
  storedAt: number;
}

/** One listener's bounded queue. `next()` resolves with what is queued, or undefined once closed. */
export class PredictionSubscription {
  readonly module: string;
  #queue: PredictionRecord[] = [];
  #pendingDropped = 0;
  #droppedTotal = 0;
  #closed = false;
  #wake: (() => void) | undefined;

  constructor(
    module: string,
    private readonly bufferSize: number,
    private readonly onClose: (subscription: PredictionSubscription) => void,
  ) {
    this.module = module;
  }

  /** Predictions dropped for this subscriber since it subscribed. */
  get dropped(): number {
    return this.#droppedTotal;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Queues a record; drops the oldest queued one when the buffer is full. */
  push(record: PredictionRecord): void {
    if (this.#closed) return;
    this.#queue.push(record);
    if (this.#queue.length > this.bufferSize) {
      this.#queue.shift();
      this.#pendingDropped++;
      this.#droppedTotal++;
    }
    this.#wakeUp();
  }

  /** Waits until something is queued and takes all of it; undefined when the subscription is closed. */
  async next(): Promise<FeedItem[] | undefined> {
    while (!this.#closed && this.#queue.length === 0 && this.#pendingDropped === 0) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    if (this.#closed) return undefined;
    const items: FeedItem[] = [];
    // The drop notice comes first: it is about predictions older than the ones that follow.
    if (this.#pendingDropped > 0) items.push({ kind: "dropped", count: this.#pendingDropped });
    for (const record of this.#queue) items.push({ kind: "prediction", record });
    this.#queue = [];
    this.#pendingDropped = 0;
    return items;
  }

  /** Ends the subscription; a pending `next()` resolves with undefined. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.onClose(this);
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** Recent predictions by id, and their live listeners per module. */
export class PredictionLog {
  readonly capacity: number;
  readonly ttlMs: number;
  readonly #now: () => number;
  #entries = new Map<string, Entry>();
  /**
   * Entries in publication order, oldest at `#head`, for eviction. Not the Map's own order: V8 keeps
   * a deleted Map slot until the table is rebuilt, so walking a full log from its start passed
   * thousands of holes per publish (~10 µs a row, measured); this queue pops in O(1).
   */
  #order: Entry[] = [];
  #head = 0;
  #subscribers = new Map<string, Set<PredictionSubscription>>();

  constructor(options: PredictionLogOptions = {}) {
    this.capacity = options.capacity ?? DEFAULT_LOG_CAPACITY;
    this.ttlMs = options.ttlMs ?? DEFAULT_LOG_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  /** Records predictions and hands them to the module's listeners; never blocks. */
  publish(records: readonly PredictionRecord[]): void {
    const now = this.#now();
    for (const record of records) {
      const entry = { record, storedAt: now };
      this.#entries.set(record.id, entry);
      this.#order.push(entry);
      for (const subscriber of this.#subscribers.get(record.module) ?? []) subscriber.push(record);
    }
    this.#trim(now);
  }

  /** The prediction with this id, or undefined when it is unknown, evicted or expired. */
  find(id: string): PredictionRecord | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (this.#now() - entry.storedAt > this.ttlMs) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry.record;
  }

  /** Starts listening to one module's predictions from now on. */
  subscribe(module: string, options: { bufferSize?: number } = {}): PredictionSubscription {
    const subscription = new PredictionSubscription(
      module,
      Math.max(1, options.bufferSize ?? DEFAULT_SUBSCRIBER_BUFFER),
      (closed) => {
        const set = this.#subscribers.get(closed.module);
        set?.delete(closed);
        if (set?.size === 0) this.#subscribers.delete(closed.module);
      },
    );
    let set = this.#subscribers.get(module);
    if (set === undefined) {
      set = new Set();
      this.#subscribers.set(module, set);
    }
    set.add(subscription);
    return subscription;
  }

  /** Live subscriptions, all modules together. */
  get subscriberCount(): number {
    let count = 0;
    for (const set of this.#subscribers.values()) count += set.size;
    return count;
  }

  /** Predictions currently kept for feedback. */
  get size(): number {
    return this.#entries.size;
  }

  /** Closes every subscription, so open event streams end (the server is shutting down). */
  closeSubscribers(): void {
    for (const set of [...this.#subscribers.values()]) {
      for (const subscription of [...set]) subscription.close();
    }
  }

  #trim(now: number): void {
    const order = this.#order;
    while (this.#head < order.length) {
      const oldest = order[this.#head]!;
      // The queue may hold entries `find` already expired, so it bounds the Map from above.
      if (order.length - this.#head <= this.capacity && now - oldest.storedAt <= this.ttlMs) break;
      order[this.#head++] = undefined as unknown as Entry; // let the record go now
      // A republished id replaced this entry in the Map: the newer one stays.
      if (this.#entries.get(oldest.record.id) === oldest) this.#entries.delete(oldest.record.id);
    }
    // Drop the popped prefix once it is most of the array (amortised O(1) per entry).
    if (this.#head > 1024 && this.#head * 2 > order.length) {
      this.#order = order.slice(this.#head);
      this.#head = 0;
    }
  }
}

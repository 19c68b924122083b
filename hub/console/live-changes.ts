/**
 * What changed, for the console's live stream. Two sources feed it: the hub's own in-process
 * notices (a device twin changed, a run moved) and change marks read from the database once a
 * second while anyone is watching (deployments stepped by bake timers, monitors evaluated by the
 * scheduler, registry writes; on PostgreSQL, writes by other replicas too). Notices are gathered
 * for a quarter of a second into one message, so a rollout wave over 10,000 devices reaches each
 * console as a handful of messages, not 40,000; a page then re-reads only the bounded page it shows.
 */
import type { Clock, TimerHandle } from "../../lib/clock.js";
import type { Logger } from "../../lib/log.js";
import { type ChangeMarkRepo, type ChangeMarks, MARKED_TOPICS } from "../repos/change-marks.js";

export const LIVE_TOPICS = ["devices", "runs", ...MARKED_TOPICS] as const;
export type LiveTopic = (typeof LIVE_TOPICS)[number];

/** One message to every console: per topic, the ids that changed, or "*" for many or unknown. */
export type LiveMessage = Partial<Record<LiveTopic, string[] | "*">>;

export const LIVE_CHANGES_DEFAULTS = {
  /** Notices are gathered this long into one message (ms). */
  coalesceMs: 250,
  /** Change marks are read this often while a console is connected (ms). */
  markIntervalMs: 1_000,
  /** More ids than this for one topic in one message are sent as "*" (count). */
  maxIdsPerTopic: 100,
} as const;

export interface LiveChangesOptions {
  marks: ChangeMarkRepo;
  clock: Clock;
  log: Logger;
  settings?: Partial<typeof LIVE_CHANGES_DEFAULTS>;
}

/** Fan-out of change notices to connected consoles. */
export class LiveChanges {
  readonly #options: LiveChangesOptions;
  readonly #settings: typeof LIVE_CHANGES_DEFAULTS;
  readonly #listeners = new Set<(message: LiveMessage) => void>();
  readonly #pending = new Map<LiveTopic, Set<string> | "*">();
  #flushTimer: TimerHandle | undefined;
  #markTimer: TimerHandle | undefined;
  #lastMarks: ChangeMarks | undefined;
  #reading = false;
  #closed = false;

  constructor(options: LiveChangesOptions) {
    this.#options = options;
    this.#settings = { ...LIVE_CHANGES_DEFAULTS, ...options.settings };
  }

  /** Notes that `id` of `topic` changed ("*" when the caller cannot say which). */
  publish(topic: LiveTopic, id: string | "*"): void {
    // Nobody watching: nothing to gather (a console that connects later reads current state first).
    if (this.#closed || this.#listeners.size === 0) return;
    const ids = this.#pending.get(topic);
    if (id === "*" || ids === "*") this.#pending.set(topic, "*");
    else if (!ids) this.#pending.set(topic, new Set([id]));
    else if (ids.size >= this.#settings.maxIdsPerTopic) this.#pending.set(topic, "*");
    else ids.add(id);
    this.#flushTimer ??= this.#options.clock.setTimer(this.#settings.coalesceMs, () => this.#flush());
  }

  /** Calls `listener` with every message until the returned function is called. */
  subscribe(listener: (message: LiveMessage) => void): () => void {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1 && !this.#markTimer && !this.#reading) this.#scheduleMarks(0);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) {
        this.#markTimer?.cancel();
        this.#markTimer = undefined;
        this.#lastMarks = undefined;
      }
    };
  }

  /** How many consoles are connected. */
  get watchers(): number {
    return this.#listeners.size;
  }

  /** Stops the timers; later notices are dropped. */
  close(): void {
    this.#closed = true;
    this.#flushTimer?.cancel();
    this.#markTimer?.cancel();
    this.#listeners.clear();
  }

  #flush(): void {
    this.#flushTimer = undefined;
    if (this.#pending.size === 0) return;
    const message: LiveMessage = {};
    for (const [topic, ids] of this.#pending) message[topic] = ids === "*" ? "*" : [...ids];
    this.#pending.clear();
    for (const listener of [...this.#listeners]) {
      try {
        listener(message);
      } catch (error) {
        this.#options.log.warn({ event: "console.listener.failed", err: error });
      }
    }
  }

  #scheduleMarks(ms: number): void {
    this.#markTimer = this.#options.clock.setTimer(ms, () => {
      this.#markTimer = undefined;
      this.#reading = true;
      void this.#readMarks().finally(() => {
        this.#reading = false;
        // One timer at most: a console that connected during the read did not start another.
        if (!this.#closed && this.#listeners.size > 0 && !this.#markTimer)
          this.#scheduleMarks(this.#settings.markIntervalMs);
      });
    });
  }

  async #readMarks(): Promise<void> {
    try {
      const marks = await this.#options.marks.read();
      const last = this.#lastMarks;
      this.#lastMarks = marks;
      if (!last) return;
      for (const topic of MARKED_TOPICS) if (marks[topic] !== last[topic]) this.publish(topic, "*");
    } catch (error) {
      // A busy or restarting database delays the marks; the next read catches up.
      this.#options.log.warn({ event: "console.marks.failed", err: error });
    }
  }
}

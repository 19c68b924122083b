/**
 * The one clock every component that waits takes: time and timers, injected so tests move time by
 * hand (rollout bakes, monitor schedules, retraining back-off, retention sweeps).
 */

/** A cancellable timer handle. */
export interface TimerHandle {
  cancel(): void;
}

/** Time source and timers. */
export interface Clock {
  now(): Date;
  /** Calls `fn` once, `ms` from now. */
  setTimer(ms: number, fn: () => void): TimerHandle;
}

/** The wall clock with Node timers (unref'd: a pending bake must not keep a process alive). */
export const systemClock: Clock = {
  now: () => new Date(),
  setTimer(ms, fn) {
    const timer = setTimeout(fn, Math.max(0, Math.min(ms, 2_147_483_647)));
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};

/** A clock that only moves when told; `advance` fires the timers that fall due, in time order. */
export class ManualClock implements Clock {
  #now: number;
  #timers: { at: number; fn: () => void; id: number }[] = [];
  #ids = 0;

  constructor(start = Date.parse("2025-06-01T00:00:00.000Z")) {
    this.#now = start;
  }

  /** The current time. */
  now(): Date {
    return new Date(this.#now);
  }

  /** Schedules `fn` at now + ms. */
  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = ++this.#ids;
    this.#timers.push({ at: this.#now + Math.max(0, ms), fn, id });
    return { cancel: () => (this.#timers = this.#timers.filter((t) => t.id !== id)) };
  }

  /** Moves time forward and fires every timer now due. */
  advance(ms: number): void {
    this.#now += ms;
    const due = this.#timers.filter((t) => t.at <= this.#now).sort((a, b) => a.at - b.at);
    this.#timers = this.#timers.filter((t) => t.at > this.#now);
    for (const timer of due) timer.fn();
  }
}

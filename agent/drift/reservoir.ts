/**
 * Reservoir sampling, Algorithm R (Waterman; Vitter 1985, "Random Sampling with a Reservoir"): after
 * n offers each item is in the reservoir with probability k/n. One random draw per offer and no
 * allocation: the caller asks `slot()` and builds the item only when a slot was chosen, so the cost
 * of a row that is not kept is a multiply and a compare. Seeded, so a window's draw is reproducible.
 */

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Reservoir<T> {
  readonly capacity: number;
  #items: T[] = [];
  #seen = 0;
  #random: () => number;

  constructor(capacity: number, seed: number) {
    this.capacity = Math.max(0, Math.floor(capacity));
    this.#random = mulberry32(seed);
  }

  /** Items offered so far. */
  get seen(): number {
    return this.#seen;
  }

  /** Counts one offer; the slot its item goes into, or -1 when it is not kept. */
  slot(): number {
    const n = this.#seen++;
    if (n < this.capacity) return n;
    const j = Math.floor(this.#random() * (n + 1));
    return j < this.capacity ? j : -1;
  }

  /** Stores the item for a slot `slot()` returned. */
  put(slot: number, item: T): void {
    this.#items[slot] = item;
  }

  /** The kept items (at most `capacity`). */
  get items(): readonly T[] {
    return this.#items;
  }
}

import { describe, expect, it } from "vitest";
import { KeyedSerialQueue } from "./keyed-serial-queue.js";

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A promise with its resolve function outside (Node 20 has no Promise.withResolvers). */
function gate(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

describe("KeyedSerialQueue", () => {
  it("runs one key's tasks in order and never more keys at once than allowed", async () => {
    const queue = new KeyedSerialQueue({ concurrency: 2, onError: () => {} });
    const done: string[] = [];
    let running = 0;
    let most = 0;
    const perKey = new Map<string, number>();
    for (let i = 0; i < 10; i++) {
      for (const key of ["a", "b", "c"]) {
        queue.push(key, async () => {
          running++;
          most = Math.max(most, running);
          perKey.set(key, (perKey.get(key) ?? 0) + 1);
          expect(perKey.get(key)).toBe(1);
          for (let j = 0; j < (i * 7 + key.charCodeAt(0)) % 3; j++) await tick();
          perKey.set(key, (perKey.get(key) ?? 0) - 1);
          running--;
          done.push(`${key}${i}`);
        });
      }
    }
    expect(queue.size).toBe(30);
    await queue.whenIdle();
    expect(queue.size).toBe(0);
    expect(most).toBe(2);
    for (const key of ["a", "b", "c"]) {
      expect(done.filter((name) => name.startsWith(key))).toEqual(
        Array.from({ length: 10 }, (_, i) => `${key}${i}`),
      );
    }
  });

  it("reports a failing task and goes on with the key's next one", async () => {
    const errors: [string, unknown][] = [];
    const queue = new KeyedSerialQueue({
      concurrency: 1,
      onError: (key, error) => errors.push([key, error]),
    });
    const done: number[] = [];
    queue.push("a", async () => {
      throw new Error("boom");
    });
    queue.push("a", () => {
      throw new Error("sync boom");
    });
    queue.push("a", async () => {
      done.push(3);
    });
    await queue.whenIdle();
    expect(done).toEqual([3]);
    expect(errors.map(([key, error]) => [key, (error as Error).message])).toEqual([
      ["a", "boom"],
      ["a", "sync boom"],
    ]);
  });

  it("resolves whenAtMost once enough tasks have finished", async () => {
    const queue = new KeyedSerialQueue({ concurrency: 1, onError: () => {} });
    const gates = Array.from({ length: 3 }, gate);
    for (const g of gates) queue.push("a", () => g.promise);
    let below = false;
    const waiting = queue.whenAtMost(1).then(() => {
      below = true;
    });
    gates[0]!.resolve();
    await tick();
    await tick();
    expect(below).toBe(false);
    gates[1]!.resolve();
    await waiting;
    expect(queue.size).toBe(1);
    gates[2]!.resolve();
    await queue.whenIdle();
  });

  it("refuses a concurrency below one", () => {
    expect(() => new KeyedSerialQueue({ concurrency: 0, onError: () => {} })).toThrow(/concurrency/);
  });
});

import { describe, expect, it, vi } from "vitest";
import { type BatchWrite, GroupCommit } from "./group-commit.js";

/** A write the test finishes by hand, recording each batch. */
function manualWrite() {
  const batches: Map<string, number>[] = [];
  const finishers: ((stored?: string[]) => void)[] = [];
  const failers: ((error: Error) => void)[] = [];
  const write: BatchWrite<number> = (batch) =>
    new Promise((resolve, reject) => {
      batches.push(new Map(batch));
      finishers.push((stored) => resolve(new Set(stored ?? batch.keys())));
      failers.push(reject);
    });
  return { write, batches, finishers, failers };
}

const missing = (key: string) => new Error(`no ${key}`);

/** Waits until the group has started `n` writes. */
const started = (batches: unknown[], n: number) => vi.waitFor(() => expect(batches).toHaveLength(n));

describe("GroupCommit", () => {
  it("writes the first call at once and gathers the calls made meanwhile, the last value per key", async () => {
    const { write, batches, finishers } = manualWrite();
    const group = new GroupCommit({ write, missing, maxBatch: 100 });
    const first = group.submit("a", 1);
    expect(batches).toEqual([new Map([["a", 1]])]);
    const later = [group.submit("b", 1), group.submit("a", 2), group.submit("b", 3)];
    finishers[0]!();
    await first;
    await started(batches, 2);
    expect(batches[1]).toEqual(
      new Map([
        ["b", 3],
        ["a", 2],
      ]),
    );
    finishers[1]!();
    await Promise.all(later);
    expect(batches).toHaveLength(2);
  });

  it("rejects keys the write did not store, and every call of a batch whose write threw", async () => {
    const { write, batches, finishers, failers } = manualWrite();
    const group = new GroupCommit({ write, missing, maxBatch: 100 });
    const busy = group.submit("x", 0);
    const stored = group.submit("a", 1);
    const ghost = group.submit("ghost", 1);
    finishers[0]!();
    await busy;
    await started(batches, 2);
    // Made while the second write runs: both wait for the third, which stores only the last value.
    const failed = [group.submit("a", 2), group.submit("a", 3)];
    finishers[1]!(["a"]);
    await expect(stored).resolves.toBeUndefined();
    await expect(ghost).rejects.toThrow("no ghost");
    await started(batches, 3);
    expect(batches[2]).toEqual(new Map([["a", 3]]));
    failers[2]!(new Error("disk full"));
    for (const call of failed) await expect(call).rejects.toThrow("disk full");
  });

  it("writes at most maxBatch keys at a time and keeps the rest for the next write", async () => {
    const { write, batches, finishers } = manualWrite();
    const group = new GroupCommit({ write, missing, maxBatch: 2 });
    const calls = ["a", "b", "c", "d", "e"].map((key) => group.submit(key, 1));
    for (let i = 0; i < 3; i++) {
      await started(batches, i + 1);
      finishers[i]!();
    }
    await Promise.all(calls);
    expect(batches.map((b) => [...b.keys()])).toEqual([["a"], ["b", "c"], ["d", "e"]]);
  });

  it("rejects only the key whose value the write refuses; the rest of its batch is stored", async () => {
    const attempts: string[][] = [];
    const write: BatchWrite<string> = async (batch) => {
      attempts.push([...batch.keys()]);
      if ([...batch.values()].includes("bad")) throw new Error("value refused");
      return new Set(batch.keys());
    };
    const group = new GroupCommit({ write, missing, maxBatch: 100 });
    const first = group.submit("x", "ok");
    // Made while the first write runs, so they share the second.
    const calls = ["a", "b", "c", "d", "e"].map((key) => group.submit(key, key === "c" ? "bad" : "ok"));
    await first;
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.map((o) => o.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    expect((outcomes[2] as PromiseRejectedResult).reason).toEqual(new Error("value refused"));
    expect(attempts[1]).toEqual(["a", "b", "c", "d", "e"]);
    expect(attempts).toContainEqual(["c"]);
  });
});

import { describe, expect, it } from "vitest";
import { PredictionLog, type PredictionRecord } from "./prediction-log.js";

const record = (id: string, module = "classifier"): PredictionRecord => ({
  id,
  module,
  version: "1.0.0",
  prediction: { label: "ok" },
  at: new Date(0).toISOString(),
});

describe("PredictionLog lookups", () => {
  it("finds recent predictions by id", () => {
    const log = new PredictionLog();
    log.publish([record("a"), record("b")]);
    expect(log.find("a")?.id).toBe("a");
    expect(log.find("missing")).toBeUndefined();
  });

  it("keeps at most capacity predictions, forgetting the oldest", () => {
    const log = new PredictionLog({ capacity: 2 });
    log.publish([record("a"), record("b"), record("c")]);
    expect(log.size).toBe(2);
    expect(log.find("a")).toBeUndefined();
    expect(log.find("c")?.id).toBe("c");
  });

  it("forgets predictions older than the ttl", () => {
    let now = 1_000;
    const log = new PredictionLog({ ttlMs: 100, now: () => now });
    log.publish([record("a")]);
    now += 100;
    expect(log.find("a")?.id).toBe("a");
    now += 1;
    expect(log.find("a")).toBeUndefined();
    log.publish([record("b")]);
    expect(log.size).toBe(1);
  });
  it("stays bounded and keeps the newest over many publishes, past the queue's compaction", () => {
    const log = new PredictionLog({ capacity: 100 });
    for (let i = 0; i < 5000; i++) log.publish([record(`p${i}`)]);
    expect(log.size).toBe(100);
    expect(log.find("p4899")).toBeUndefined();
    expect(log.find("p4900")?.id).toBe("p4900");
    expect(log.find("p4999")?.id).toBe("p4999");
  });

  it("keeps a republished id's newer record when the older one is evicted", () => {
    const log = new PredictionLog({ capacity: 3 });
    log.publish([record("a"), record("b")]);
    log.publish([{ ...record("a"), prediction: { label: "fail" } }]);
    log.publish([record("c")]); // evicts the first "a" from the queue, not the Map's newer one
    expect(log.find("a")?.prediction).toEqual({ label: "fail" });
  });
});

describe("PredictionLog subscriptions", () => {
  it("delivers a module's predictions only to that module's subscribers", async () => {
    const log = new PredictionLog();
    const classifier = log.subscribe("classifier");
    const other = log.subscribe("other");
    log.publish([record("a"), record("b", "other")]);
    expect(await classifier.next()).toEqual([{ kind: "prediction", record: record("a") }]);
    expect(await other.next()).toEqual([{ kind: "prediction", record: record("b", "other") }]);
  });

  it("wakes a waiting subscriber when a prediction arrives", async () => {
    const log = new PredictionLog();
    const subscription = log.subscribe("classifier");
    const pending = subscription.next();
    log.publish([record("a")]);
    expect((await pending)?.map((item) => item.kind)).toEqual(["prediction"]);
  });

  it("drops the oldest predictions of a slow subscriber and counts them", async () => {
    const log = new PredictionLog();
    const slow = log.subscribe("classifier", { bufferSize: 2 });
    log.publish([record("a"), record("b"), record("c"), record("d"), record("e")]);
    expect(slow.dropped).toBe(3);
    expect(await slow.next()).toEqual([
      { kind: "dropped", count: 3 },
      { kind: "prediction", record: record("d") },
      { kind: "prediction", record: record("e") },
    ]);
    // The notice is given once; the total stays.
    log.publish([record("f")]);
    expect(await slow.next()).toEqual([{ kind: "prediction", record: record("f") }]);
    expect(slow.dropped).toBe(3);
  });

  it("ends pending reads on close and forgets the subscriber", async () => {
    const log = new PredictionLog();
    const subscription = log.subscribe("classifier");
    const pending = subscription.next();
    expect(log.subscriberCount).toBe(1);
    log.closeSubscribers();
    expect(await pending).toBeUndefined();
    expect(await subscription.next()).toBeUndefined();
    expect(log.subscriberCount).toBe(0);
    log.publish([record("a")]);
    expect(subscription.closed).toBe(true);
  });
});

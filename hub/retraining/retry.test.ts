import { describe, expect, it } from "vitest";
import { DomainError } from "../../lib/errors.js";
import { ConflictError, NotFoundError, ValidationError } from "../repos/errors.js";
import {
  CycleFailure,
  decideOnError,
  describeError,
  isVerdict,
  MAX_RETRY_BACKOFF_MS,
  retryBackoffMs,
  waitingToRetry,
} from "./retry.js";

describe("a retraining step's error", () => {
  it("ends the cycle at once when it is a verdict", () => {
    for (const error of [
      new CycleFailure("no labels"),
      new ValidationError("dataset x has no version"),
      new ConflictError("module", "m", "busy"),
      new DomainError("bad_dataset", "no such column"),
      new ValidationError("bad"),
      new NotFoundError("model", "m"),
      new ConflictError("module", "m@1.0.1"),
    ]) {
      expect(isVerdict(error)).toBe(true);
      expect(decideOnError(error, "training", { status: "training", failures: 1 })).toEqual({
        kind: "fail",
        message: error.message,
      });
    }
  });

  it("is retried when it is anything else, counting failures of the same step in a row", () => {
    const hiccup = new Error("connection terminated unexpectedly");
    for (const error of [
      hiccup,
      new DomainError("unavailable", "down", { transient: true }),
      new Error("x"),
      "str",
      null,
    ])
      expect(isVerdict(error)).toBe(false);
    expect(decideOnError(hiccup, "packaging", undefined)).toEqual({
      kind: "retry",
      failures: 1,
      message: hiccup.message,
    });
    expect(decideOnError(hiccup, "packaging", { status: "packaging", failures: 3 })).toMatchObject({
      kind: "retry",
      failures: 4,
    });
    // A count left by an earlier step (or cleared) starts again.
    expect(decideOnError(hiccup, "deploying", { status: "packaging", failures: 4 })).toMatchObject({
      kind: "retry",
      failures: 1,
    });
    expect(decideOnError(hiccup, "deploying", null)).toMatchObject({ kind: "retry", failures: 1 });
  });

  it("ends the cycle on the max-th failure in a row, saying how many", () => {
    const hiccup = new Error("disk full");
    expect(decideOnError(hiccup, "canary", { status: "canary", failures: 4 })).toEqual({
      kind: "fail",
      message: "disk full (5 failures in a row)",
    });
    expect(decideOnError(hiccup, "canary", { status: "canary", failures: 1 }, 2)).toMatchObject({
      kind: "fail",
    });
    expect(decideOnError(hiccup, "canary", null, 1)).toMatchObject({ kind: "fail" });
  });

  it("is described with its causes, a failed query without its statement", () => {
    const query = new Error('Failed query: insert into "x" values ($1)\nparams: 1', {
      cause: new Error("injected fault"),
    });
    expect(describeError(query)).toBe("database query failed: injected fault");
    expect(describeError(new Error("fetch failed", { cause: "ECONNREFUSED" }))).toBe(
      "fetch failed: ECONNREFUSED",
    );
    expect(describeError(new CycleFailure("no labels"))).toBe("no labels");
  });
});

describe("the wait before a retry", () => {
  it("grows fourfold per failure from one tick, up to the cap", () => {
    expect([1, 2, 3, 4].map((n) => retryBackoffMs(n, 2_000))).toEqual([2_000, 8_000, 32_000, 128_000]);
    expect(retryBackoffMs(9, 2_000)).toBe(MAX_RETRY_BACKOFF_MS);
  });

  it("holds a cycle back only while it is in the status that failed and the time has not come", () => {
    const at = new Date("2026-01-01T00:00:10Z");
    const transient = { status: "training", failures: 1, retryAt: "2026-01-01T00:00:12Z" };
    expect(waitingToRetry("training", transient, at)).toBe(true);
    expect(waitingToRetry("training", transient, new Date("2026-01-01T00:00:12Z"))).toBe(false);
    expect(waitingToRetry("packaging", transient, at)).toBe(false);
    expect(waitingToRetry("training", { status: "training", failures: 1 }, at)).toBe(false);
    expect(waitingToRetry("training", null, at)).toBe(false);
  });
});

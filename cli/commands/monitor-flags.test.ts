import { describe, expect, it } from "vitest";
import { CliError } from "../hub-target.js";
import { packageBody } from "./model-package.js";
import { monitorBody } from "./monitor-flags.js";

describe("monitors create flags", () => {
  it("builds the body from flags", () => {
    expect(
      monitorBody("churn-watch", {
        module: "churn@1.0.0",
        selector: "fleet=a,site=b",
        alpha: "0.05",
        minRows: "50",
        every: "5m",
        scales: "1,4",
        thresholds: "js=0.1,psi=0.2",
        outputs: false,
        webhook: "https://example.com/hook",
      }),
    ).toEqual({
      name: "churn-watch",
      module: "churn",
      version: "1.0.0",
      selector: { tags: { fleet: "a", site: "b" } },
      alpha: 0.05,
      minRows: 50,
      intervalMs: 300_000,
      scales: [1, 4],
      thresholds: { js: 0.1, psi: 0.2 },
      includeOutputs: false,
      webhook: { url: "https://example.com/hook" },
    });
  });

  it("defaults the name, leaves the version to resolve, and keeps the spec's fields", () => {
    expect(
      monitorBody(undefined, { module: "churn", devices: "d1,d2" }, { intervalMs: 5000, enabled: false }),
    ).toEqual({
      name: "churn-drift",
      module: "churn",
      selector: { deviceIds: ["d1", "d2"] },
      intervalMs: 5000,
      enabled: false,
    });
  });

  it("builds a retrain action; retrain flags imply it", () => {
    const body = monitorBody("m", {
      module: "churn@1.0.0",
      selector: "fleet=a",
      retrainDataset: "churn",
      retrainRecipe: "gbt",
      retrainParam: ["nEstimators=20"],
      retrainMinLabelled: "40",
      retrainCollectTimeout: "10m",
      retrainRetryAfter: "6h",
      retrainCanary: "10%",
      retrainBake: "1m",
    });
    expect(body.action).toEqual({
      kind: "retrain",
      retrain: {
        dataset: "churn",
        recipe: "gbt",
        params: { nEstimators: 20 },
        minLabelled: 40,
        collectTimeoutMs: 600_000,
        retryAfterMs: 6 * 3_600_000,
        canary: { percent: 10, bakeMs: 60_000 },
      },
    });
  });

  it("refuses bad flags with a message naming the flag", () => {
    const base = { module: "churn@1.0.0", selector: "fleet=a" };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ alpha: "0.7" }, /--alpha/],
      [{ alpha: "x" }, /--alpha needs a number/],
      [{ minRows: "0" }, /--min-rows/],
      [{ every: "soon" }, /--every takes a duration/],
      [{ every: "100ms" }, /--every must be between/],
      [{ scales: "4,4" }, /--scales must be distinct/],
      [{ scales: "0,1" }, /--scales/],
      [{ thresholds: "kl=1" }, /--thresholds knows/],
      [{ webhook: "ftp://x/y" }, /--webhook/],
      [{ action: "page" }, /--action is alert or retrain/],
      [{ action: "retrain" }, /--retrain-dataset/],
      [{ action: "alert", retrainDataset: "d" }, /need --action retrain/],
      [{ retrainDataset: "d", retrainRecipe: "svm" }, /--retrain-recipe/],
      [{ retrainDataset: "d", retrainCanary: "0" }, /--retrain-canary/],
      [{ module: "churn@" }, /--module takes/],
      [{ selector: "fleet" }, /--selector takes key=value/],
    ];
    for (const [flags, message] of cases) {
      expect(() => monitorBody("m", { ...base, ...flags }), JSON.stringify(flags)).toThrow(message);
    }
    expect(() => monitorBody("m", { selector: "a=b" })).toThrow(/--module/);
    expect(() => monitorBody("m", { module: "churn" })).toThrow(/--selector/);
    expect(() => monitorBody("m", { module: "churn", selector: "a=b", alpha: "2" })).toThrow(CliError);
  });
});

describe("models package flags", () => {
  it("builds the body and refuses bad flags", () => {
    expect(
      packageBody({ module: "m", moduleVersion: "1.2.0", allowSamples: true, maxSamples: "50" }),
    ).toEqual({
      module: "m",
      version: "1.2.0",
      samples: { allowed: true, maxPerWindow: 50 },
    });
    expect(packageBody({})).toEqual({});
    expect(() => packageBody({ moduleVersion: "v1" })).toThrow(/--module-version/);
    expect(() => packageBody({ maxSamples: "5" })).toThrow(/--allow-samples/);
    expect(() => packageBody({ minRows: "-1" })).toThrow(/--min-rows/);
  });
});

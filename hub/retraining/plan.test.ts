/**
 * The retraining planner's step functions, one status at a time, without a hub: the facts are
 * plain rows, the time comes from the clock's test double.
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../lib/clock.js";
import type { RetrainSettings } from "../db/schema/drift.js";
import type { Deployment } from "../repos/index.js";
import type { ModelVersion } from "../repos/models.js";
import type { Monitor } from "../repos/monitors.js";
import type { RunRow } from "../repos/runs.js";
import { isHoldout, type LabelledRow } from "./compare.js";
import {
  type CollectFacts,
  type PlannedCycle,
  planCanary,
  planCollect,
  planDeploy,
  planEvaluate,
  planPackage,
  planPreamble,
  planRequest,
  planTraining,
  recordRequested,
  recordRunSubmitted,
} from "./plan.js";

const settings: RetrainSettings = {
  dataset: "churn",
  margin: 0.02,
  minLabelled: 4,
  samplesPerWindow: 20,
  sampleWindows: 5,
  collectTimeoutMs: 60_000,
  canary: { count: 1, bakeMs: 1_000 },
};

const monitor = {
  id: "m1",
  name: "watch",
  module: "churn",
  moduleVersion: "1.0.0",
  selector: { tags: { site: "a" } },
  action: { kind: "retrain", retrain: settings },
} as unknown as Monitor;

const cycle = (status: string, state: PlannedCycle["state"] = {}): PlannedCycle => ({
  id: "0123456789abcdef",
  status,
  state,
});

const champion = {
  modelName: "churn",
  version: 3,
  training: {
    task: "classification",
    target: "label",
    features: [
      { name: "x1", kind: "numeric" },
      { name: "x2", kind: "numeric" },
    ],
  },
  lineage: { recipe: "gbt", params: { trees: 30 } },
} as unknown as ModelVersion;

const rows = (count: number): LabelledRow[] =>
  Array.from({ length: count }, (_, i) => ({ id: `d1/s${i}`, inputs: { x1: i, x2: -i }, label: "yes" }));

const run = (patch: Partial<RunRow>): RunRow =>
  ({ id: "run-1", status: "running", error: null, outputs: {}, metrics: {}, spec: {}, ...patch }) as RunRow;

const deployment = (patch: Partial<Deployment>): Deployment =>
  ({ id: "dep-1", status: "active", outcome: null, targetDeviceIds: ["d1", "d2"], ...patch }) as Deployment;

describe("planPreamble", () => {
  it("fails a cycle whose monitor was deleted or no longer retrains, but follows a canary already out", () => {
    expect(planPreamble("training", null)).toEqual({ fail: "the monitor was deleted" });
    const alerting = { ...monitor, action: { kind: "alert" } } as unknown as Monitor;
    expect(planPreamble("training", alerting)).toEqual({ fail: "the monitor's action is no longer retrain" });
    expect(planPreamble("canary", alerting)).toEqual({ settings: null });
    expect(planPreamble("canary", null)).toEqual({ fail: "the monitor was deleted" });
    expect(planPreamble("collecting", monitor)).toEqual({ settings });
  });
});

describe("collecting", () => {
  it("asks the cohort for samples of the watched version, and records who got the command", () => {
    const clock = new ManualClock();
    const action = planRequest(cycle("collecting"), monitor, settings, ["d1", "d2"]);
    expect(action).toEqual({
      kind: "request-samples",
      devices: ["d1", "d2"],
      command: {
        protocol: 1,
        requestId: "retrain-01234567",
        module: "churn",
        version: "1.0.0",
        maxPerWindow: 20,
        windows: 5,
      },
    });
    if (action.kind !== "request-samples") throw new Error("unreachable");
    expect(recordRequested(settings, action.command, ["d2"], clock.now())).toMatchObject({
      kind: "advance",
      advance: {
        status: "collecting",
        step: "samples-requested",
        state: { requestId: "retrain-01234567", requestedAt: clock.now().toISOString(), devices: ["d2"] },
      },
    });
    expect(recordRequested(settings, action.command, [], clock.now())).toEqual({
      kind: "fail",
      message: "no device of the cohort could be asked for samples",
    });
  });

  const asked = (clock: ManualClock) => cycle("collecting", { requestedAt: clock.now().toISOString() });
  const facts = (patch: Partial<CollectFacts>): CollectFacts => ({
    leftRun: null,
    labelled: [],
    champion: { found: true, version: champion },
    ...patch,
  });

  it("waits for labels until the collect timeout, then gives up with the count", () => {
    const clock = new ManualClock();
    const c = asked(clock);
    clock.advance(60_000);
    expect(planCollect(c, monitor, settings, facts({ labelled: rows(3) }), clock.now())).toEqual({
      kind: "wait",
    });
    clock.advance(1_000);
    expect(planCollect(c, monitor, settings, facts({ labelled: rows(3) }), clock.now())).toEqual({
      kind: "fail",
      message: "only 3 labelled samples after 61 s; the monitor needs 4",
    });
  });

  it("with enough labels submits a run on the train half with the champion's recipe and params", () => {
    const clock = new ManualClock();
    const labelled = rows(40);
    const action = planCollect(asked(clock), monitor, settings, facts({ labelled }), clock.now());
    if (action.kind !== "submit-run") throw new Error(`expected submit-run, got ${action.kind}`);
    const train = labelled.filter((row) => !isHoldout(row));
    expect(train.length).toBeGreaterThan(0);
    expect(train.length).toBeLessThan(40);
    expect(action.submission.body).toEqual({
      experiment: "churn",
      dataset: { name: "churn", version: "latest" },
      task: "classification",
      target: "label",
      recipe: "gbt",
      params: { trees: 30 },
      register: { model: "churn" },
      trigger: { kind: "monitor", monitorId: "m1", cycleId: "0123456789abcdef" },
    });
    expect(action.submission.trainRows).toHaveLength(train.length);
    expect(action.submission.trainRows[0]).toEqual({
      x1: train[0]!.inputs.x1,
      x2: train[0]!.inputs.x2,
      label: "yes",
    });
    const recorded = recordRunSubmitted(action.submission, settings, "run-9", "sha");
    expect(recorded).toMatchObject({
      status: "training",
      step: "run-submitted",
      state: { model: "churn", champion: 3, runId: "run-9", extraRows: { blob: "sha", rows: train.length } },
      message: `run run-9: gbt on churn@latest + ${train.length} device rows (${40 - train.length} held out)`,
    });
  });

  it("a recipe set on the monitor drops the champion's params (they belong to its recipe)", () => {
    const clock = new ManualClock();
    const own = { ...settings, recipe: "logistic" };
    const action = planCollect(asked(clock), monitor, own, facts({ labelled: rows(10) }), clock.now());
    expect(action.kind === "submit-run" && action.submission.body).toMatchObject({ recipe: "logistic" });
    expect(action.kind === "submit-run" && "params" in action.submission.body).toBe(false);
  });

  it("adopts a run an interrupted attempt submitted instead of submitting a second", () => {
    const clock = new ManualClock();
    const left = run({
      id: "run-left",
      spec: {
        recipe: "gbt",
        dataset: { name: "churn" },
        register: { model: "churn" },
        extraRows: { blob: "b" },
      },
    });
    expect(
      planCollect(asked(clock), monitor, settings, facts({ leftRun: { run: left, rows: 7 } }), clock.now()),
    ).toMatchObject({
      kind: "advance",
      advance: {
        status: "training",
        step: "run-submitted",
        state: { runId: "run-left", champion: 3, extraRows: { blob: "b", rows: 7 } },
        details: { adopted: true, train: 7 },
      },
    });
  });

  it("without a trained champion the cycle cannot train", () => {
    const clock = new ManualClock();
    const none = facts({
      labelled: rows(10),
      champion: { found: false, reason: "model churn has no trained champion" },
    });
    expect(planCollect(asked(clock), monitor, settings, none, clock.now())).toEqual({
      kind: "fail",
      message: "model churn has no trained champion",
    });
  });
});

describe("training", () => {
  const state = { runId: "run-1" };
  it("waits while the run runs, fails with its error, names the challenger once it registered one", () => {
    expect(planTraining(state, run({ status: "running" }))).toEqual({ kind: "wait" });
    expect(planTraining(state, null)).toEqual({ kind: "fail", message: "run run-1 disappeared" });
    expect(
      planTraining(
        state,
        run({ status: "failed", error: { code: "x", message: "diverged" } as RunRow["error"] }),
      ),
    ).toEqual({ kind: "fail", message: "run run-1 failed: diverged" });
    expect(planTraining(state, run({ status: "succeeded" }))).toEqual({
      kind: "fail",
      message: "run run-1 succeeded without registering a model",
    });
    expect(
      planTraining(state, run({ status: "succeeded", outputs: { model: { name: "churn", version: 4 } } })),
    ).toMatchObject({ kind: "advance", advance: { status: "evaluating", state: { challenger: 4 } } });
  });
});

describe("evaluating", () => {
  const scored = (challenger: number, champ: number) => ({
    missing: false as const,
    champion: { version: 3, score: { metric: "accuracy" as const, value: champ, rows: 20 } },
    challenger: { version: 4, score: { metric: "accuracy" as const, value: challenger, rows: 20 } },
    holdout: 20,
  });
  it("the challenger must win by the margin; else the cycle ends rejected", () => {
    expect(planEvaluate(settings, scored(0.9, 0.8))).toMatchObject({
      kind: "advance",
      advance: { status: "packaging", step: "challenger-won" },
    });
    expect(planEvaluate(settings, scored(0.81, 0.8))).toMatchObject({
      kind: "advance",
      advance: {
        status: "rejected",
        step: "challenger-rejected",
        message:
          "accuracy on 20 held-out device rows: challenger v4 0.8100, champion v3 0.8000 (margin 0.02)",
      },
    });
    expect(planEvaluate(settings, { missing: true })).toEqual({
      kind: "fail",
      message: "champion or challenger version is missing",
    });
  });
});

describe("packaging and deploying", () => {
  const state = { model: "churn", champion: 3, challenger: 4, moduleVersion: "1.0.1" };
  it("packages the challenger keeping the watched version's sample policy, or adopts what an attempt left", () => {
    const monitoring = { samples: { allowed: true, maxPerWindow: 50 }, minRows: 5 };
    expect(planPackage(monitor, state, { existing: null, monitoring })).toEqual({
      kind: "package",
      model: "churn",
      version: 4,
      options: { module: "churn", samples: { allowed: true, maxPerWindow: 50 }, minRows: 5 },
    });
    expect(
      planPackage(monitor, state, { existing: { version: "1.0.1", tarballSha256: "t" }, monitoring }),
    ).toMatchObject({
      kind: "advance",
      advance: { status: "deploying", state: { moduleVersion: "1.0.1" }, details: { adopted: true } },
    });
  });

  it("creates the canary as the monitor, or adopts the deployment an attempt created", () => {
    expect(planDeploy(monitor, settings, state, null)).toEqual({
      kind: "deploy",
      request: {
        module: "churn",
        version: "1.0.1",
        selector: { tags: { site: "a" } },
        strategy: "canary",
        canary: { count: 1 },
        bakeMs: 1_000,
        createdBy: "monitor:watch",
      },
    });
    const unsized = { ...settings, canary: {} };
    expect(planDeploy(monitor, unsized, state, null)).toMatchObject({ request: { canary: { count: 1 } } });
    expect(planDeploy(monitor, settings, state, deployment({}))).toMatchObject({
      kind: "advance",
      advance: { status: "canary", state: { deploymentId: "dep-1" }, details: { targets: 2, adopted: true } },
    });
  });
});

describe("canary", () => {
  const c = cycle("canary", {
    model: "churn",
    champion: 3,
    challenger: 4,
    moduleVersion: "1.0.1",
    deploymentId: "dep-1",
  });

  it("waits while active or paused, however long", () => {
    expect(planCanary(c, monitor, deployment({ status: "active" }))).toEqual({ kind: "wait" });
    expect(planCanary(c, monitor, deployment({ status: "paused" }))).toEqual({ kind: "wait" });
  });

  it("promotes only a completed canary", () => {
    expect(planCanary(c, monitor, deployment({ status: "completed" }))).toMatchObject({
      kind: "promote",
      model: "churn",
      challenger: 4,
      moduleVersion: "1.0.1",
      advance: { status: "succeeded", step: "canary-completed" },
    });
  });

  it("rolls back a partially applied canary as this cycle and fails naming the devices", () => {
    const partial = deployment({
      status: "partially-applied",
      outcome: {
        message: "d2 offline",
        by: "controller",
        devices: [{ deviceId: "d2" }],
      } as Deployment["outcome"],
    });
    expect(planCanary(c, monitor, partial)).toMatchObject({
      kind: "rollback",
      deploymentId: "dep-1",
      by: "retraining:0123456789abcdef",
      advance: {
        status: "failed",
        error: "canary partially-applied: d2 offline",
        details: { devices: [{ deviceId: "d2" }], rolledBack: true },
      },
    });
    // The rollback went out but the step was not recorded: recognised as this cycle's own.
    const own = deployment({
      status: "rolled-back",
      outcome: { message: "rolled back", by: "retraining:0123456789abcdef" } as Deployment["outcome"],
    });
    expect(planCanary(c, monitor, own)).toMatchObject({
      kind: "advance",
      advance: { status: "failed", step: "canary-partially-applied" },
    });
  });

  it("a canary rolled back or aborted by someone else ends the cycle so, saying by whom", () => {
    const byGate = deployment({
      status: "rolled-back",
      outcome: { message: "failures gate", by: "controller" } as Deployment["outcome"],
    });
    expect(planCanary(c, monitor, byGate)).toMatchObject({
      kind: "advance",
      advance: {
        status: "rolled-back",
        step: "canary-rolled-back",
        error: "canary rolled-back: failures gate (by controller)",
      },
    });
    expect(planCanary(c, monitor, deployment({ status: "superseded" }))).toMatchObject({
      kind: "advance",
      advance: { status: "aborted", error: "canary superseded: deployment status superseded" },
    });
    expect(planCanary(c, monitor, null)).toEqual({
      kind: "fail",
      message: "canary deployment dep-1 no longer exists",
    });
  });
});

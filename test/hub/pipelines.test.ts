/**
 * Pipelines on a real hub (PGlite, the in-hub trainer worker, onnxruntime): a run of
 * dataset → train → evaluate → quantize → package completes; the same spec again reuses every
 * step (no new run, model version or module version); a changed param reruns train and what follows
 * it while the dataset step is reused; a failed gate fails the pipeline at that step and skips the
 * rest; bad specs are 400 with nothing created; viewers read but cannot run.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineRunView } from "../../hub-api/pipelines.js";
import { separableBinary } from "../../training/synthetic.js";
import { expectApiError, expectJson } from "../support/api-expect.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { waitFor } from "../support/wait.js";

type Pipeline = PipelineRunView;

let hub: TestHub;
let viewer: string;

const rows = separableBinary(200, 11);
const jsonl = new TextEncoder().encode(`${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);

function call(method: string, path: string, body?: unknown, token = hub.adminToken): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  return fetch(`${hub.url}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

const spec = (params: Record<string, unknown> = {}) => ({
  name: "binary-pipe",
  steps: {
    dataset: { name: "binary" },
    train: { recipe: "mlp", params: { epochs: 30, ...params }, seed: 3 },
    evaluate: { min: { accuracy: 0.8 } },
    quantize: { maxLoss: 0.05 },
    package: { int8: true },
  },
});

async function runToEnd(body: unknown): Promise<Pipeline> {
  const started = await expectJson<Pipeline>(await call("POST", "/api/v1/pipelines", body), 201);
  expect(started.status).toBe("running");
  return waitFor(
    `pipeline ${started.id} to end`,
    async () => {
      const now = await expectJson<Pipeline>(await call("GET", `/api/v1/pipelines/${started.id}`));
      return now.status === "running" ? undefined : now;
    },
    120_000,
    200,
  );
}

const byKind = (p: Pipeline) => Object.fromEntries(p.steps.map((s) => [s.kind, s]));
const counts = async () => ({
  runs: (await expectJson<{ runs: unknown[] }>(await call("GET", "/api/v1/runs"))).runs.length,
  pipelines: (await expectJson<{ pipelines: unknown[] }>(await call("GET", "/api/v1/pipelines"))).pipelines
    .length,
  versions: (
    await expectJson<{ versions: unknown[] }>(await call("GET", "/api/v1/models/binary-pipe/versions")).catch(
      () => ({ versions: [] }),
    )
  ).versions.length,
  modules: (await expectJson<{ modules: unknown[] }>(await call("GET", "/api/v1/modules"))).modules.length,
});

beforeAll(async () => {
  hub = await startTestHub({ trainer: true });
  await expectJson(
    await fetch(`${hub.url}/api/v1/datasets/binary/versions?format=jsonl&target=label&task=classification`, {
      method: "POST",
      headers: { authorization: `Bearer ${hub.adminToken}`, "content-type": "application/octet-stream" },
      body: jsonl,
    }),
    201,
  );
  viewer = (await hub.parts.repos.tokens.create("pipeline-viewer", "viewer")).token;
}, 60_000);
afterAll(async () => {
  await hub?.dispose();
});

describe("pipelines", () => {
  let first: Pipeline;

  it("runs every step of a spec and says what each produced", async () => {
    first = await runToEnd(spec());
    expect(first.status, JSON.stringify(first)).toBe("completed");
    expect(first.steps.map((s) => [s.kind, s.status])).toEqual([
      ["dataset", "completed"],
      ["train", "completed"],
      ["evaluate", "completed"],
      ["quantize", "completed"],
      ["package", "completed"],
    ]);
    const steps = byKind(first);
    expect(steps.train!.output!.model).toMatchObject({ name: "binary-pipe", version: 1 });
    expect(steps.package!.output).toMatchObject({ module: "binary-pipe", version: "1.0.0" });
    for (const step of first.steps) expect(step.inputsHash).toMatch(/^[0-9a-f]{64}$/);
  }, 180_000);

  it("reuses every step when nothing changed, recomputing nothing", async () => {
    const before = await counts();
    const second = await runToEnd(spec());
    expect(second.status, JSON.stringify(second)).toBe("completed");
    for (const step of second.steps) {
      expect(step.status, step.kind).toBe("reused");
      expect(step.reused?.pipelineRun, step.kind).toBe(first.id);
      expect(step.inputsHash).toBe(byKind(first)[step.kind]!.inputsHash);
      expect(step.output).toEqual(byKind(first)[step.kind]!.output);
    }
    const after = await counts();
    expect(after).toEqual({ ...before, pipelines: before.pipelines + 1 });
  }, 180_000);

  it("reruns train and what follows when a param changes, reusing the dataset step", async () => {
    const changed = await runToEnd(spec({ l2: 0.01 }));
    expect(changed.status, JSON.stringify(changed)).toBe("completed");
    expect(changed.steps.map((s) => [s.kind, s.status])).toEqual([
      ["dataset", "reused"],
      ["train", "completed"],
      ["evaluate", "completed"],
      ["quantize", "completed"],
      ["package", "completed"],
    ]);
    const steps = byKind(changed);
    expect(steps.train!.output!.model).toMatchObject({ version: 2 });
    expect(steps.package!.output).toMatchObject({ version: "1.0.1" });
  }, 180_000);

  it("fails at a gate that is not met, names the step and why, and skips the rest", async () => {
    const before = await counts();
    const failed = await runToEnd({
      ...spec(),
      steps: { ...spec().steps, evaluate: { min: { accuracy: 1.5 } } },
    });
    expect(failed.status).toBe("failed");
    expect(failed.failedStep).toBe("evaluate");
    expect(failed.error).toMatch(/accuracy .* below the minimum 1\.5/);
    const steps = byKind(failed);
    expect(steps.train!.status).toBe("reused");
    expect(steps.evaluate!.status).toBe("failed");
    expect(steps.quantize!.status).toBe("skipped");
    expect(steps.package!.status).toBe("skipped");
    expect((await counts()).modules).toBe(before.modules);
  }, 180_000);

  it("refuses bad specs with 400 and creates nothing", async () => {
    const before = await counts();
    const bad: [string, unknown][] = [
      ["unknown field", { ...spec(), extra: 1 }],
      ["train without dataset", { name: "x", steps: { train: { recipe: "logistic" } } }],
      [
        "deploy without package",
        { name: "x", steps: { dataset: { name: "binary" }, deploy: { selector: { tags: { a: "b" } } } } },
      ],
      ["unknown dataset", { ...spec(), steps: { ...spec().steps, dataset: { name: "nope" } } }],
      ["bad recipe params", spec({ epochs: -1 })],
      [
        "unknown target",
        { ...spec(), steps: { ...spec().steps, train: { recipe: "logistic", target: "nope" } } },
      ],
      [
        "int8 without quantize",
        {
          name: "x",
          steps: { dataset: { name: "binary" }, train: { recipe: "logistic" }, package: { int8: true } },
        },
      ],
      ["no steps", { name: "x", steps: {} }],
    ];
    for (const [what, body] of bad) {
      const error = await expectApiError(await call("POST", "/api/v1/pipelines", body), 400, "bad_request");
      expect(error.message.length, what).toBeGreaterThan(0);
    }
    expect(await counts()).toEqual(before);
  });

  it("lets viewers read and refuses them a run; the run is in the audit trail", async () => {
    await expectApiError(await call("POST", "/api/v1/pipelines", spec(), viewer), 403, "forbidden");
    const list = await expectJson<{ pipelines: Pipeline[] }>(
      await call("GET", "/api/v1/pipelines?name=binary-pipe", undefined, viewer),
    );
    expect(list.pipelines.length).toBeGreaterThanOrEqual(4);
    await expectJson(await call("GET", `/api/v1/pipelines/${first.id}`, undefined, viewer));
    await expectApiError(
      await call("GET", "/api/v1/pipelines/00000000-0000-4000-8000-000000000000"),
      404,
      "not_found",
    );
    const audit = await expectJson<{ entries: { action: string; outcome: string }[] }>(
      await call("GET", "/api/v1/audit?limit=200"),
    );
    const actions = audit.entries.filter((e) => e.action === "POST /api/v1/pipelines").map((e) => e.outcome);
    expect(actions).toContain("ok");
    expect(actions).toContain("denied");
    expect(actions).toContain("refused");
  });
});

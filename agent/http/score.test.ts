import { join } from "node:path";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postprocess } from "../../modules/index.js";
import { classifierModule, identityModule, idsModule, slowModule } from "../runtime/test-modules.js";
import { call, type Harness, startHarness } from "./test-harness.js";

let h: Harness;
let base: string;
let direct: InferenceSession;
beforeAll(async () => {
  const roomy = await slowModule({ name: "roomy", depth: 1, runtime: { maxBodyBytes: 256 * 1024 } });
  h = await startHarness([await classifierModule(), await idsModule(), await identityModule(), roomy], {
    maxBodyBytes: 16 * 1024,
  });
  base = h.server.url;
  direct = await InferenceSession.create(join(h.dirs[0]!.dir, "model.onnx"));
});
afterAll(async () => {
  await direct.release();
  await h.close();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
type Row = { temp: number; humidity: number; vibration?: number; current: number };

/** What the classifier should answer: standardise as the manifest says, run the session directly, post-process. */
async function expectedPredictions(rows: Row[]): Promise<unknown[]> {
  const data = rows.flatMap((row) => [
    (row.temp - 20) / 5,
    (row.humidity - 50) / 10,
    row.vibration ?? 0,
    row.current,
  ]);
  const outputs = await direct.run({
    features: new Tensor("float32", Float32Array.from(data), [rows.length, 4]),
  });
  return postprocess(h.dirs[0]!.manifest.postprocessing, outputs, rows.length);
}

const score = (body: unknown, module = "classifier") =>
  call(`${base}/v1/modules/${module}/score`, "POST", body);

function expectError(
  reply: { status: number; body: unknown },
  status: number,
  code: string,
  message: RegExp,
) {
  expect(reply.status).toBe(status);
  expect(Object.keys(reply.body as object)).toEqual(["error"]);
  const { error } = reply.body as { error: { code: string; message: string; details?: unknown } };
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
}

describe("GET /v1/modules", () => {
  it("lists the active modules", async () => {
    const reply = await call(`${base}/v1/modules`);
    expect(reply.status).toBe(200);
    const modules = (reply.body as { modules: { name: string }[] }).modules;
    expect(modules.map((m) => m.name)).toEqual(["classifier", "identity", "ids", "roomy"]);
    expect(modules[0]).toEqual({
      name: "classifier",
      version: "1.0.0",
      inputs: [{ name: "features", datatype: "FP32", shape: [-1, 4] }],
      outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 3] }],
      preprocessing: {
        kind: "tabular",
        input: "features",
        features: ["temp", "humidity", "vibration", "current"],
      },
      postprocessing: { kind: "softmax", output: "logits", labels: ["ok", "warn", "fail"] },
      loadedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(modules[2]).toMatchObject({
      name: "ids",
      preprocessing: { kind: "none" },
      postprocessing: { kind: "raw" },
    });
  });
});

describe("POST /v1/modules/{name}/score (happy path)", () => {
  it("scores one row of features like a direct session.run", async () => {
    const row = { temp: 31, humidity: 40, vibration: 0.3, current: 2.5 };
    const reply = await score({ features: row });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      module: "classifier",
      version: "1.0.0",
      predictions: await expectedPredictions([row]),
      predictionIds: [expect.stringMatching(UUID)],
    });
  });

  it("scores a batch of instances, using defaults for missing features", async () => {
    const rows = [
      { temp: 10, humidity: 70, current: 1 },
      { temp: 25, humidity: 55, vibration: 2, current: -1 },
      { temp: 20, humidity: 50, vibration: null, current: 0 },
    ];
    const reply = await score({ instances: rows });
    expect(reply.status).toBe(200);
    const body = reply.body as { predictions: unknown[]; predictionIds: string[] };
    expect(body.predictions).toEqual(
      await expectedPredictions(rows.map((r) => ({ ...r, vibration: r.vibration ?? 0 }))),
    );
    expect(body.predictionIds).toHaveLength(3);
    expect(new Set(body.predictionIds).size).toBe(3);
  });

  it("scores raw tensors for a module without tabular preprocessing", async () => {
    const nested = await score(
      {
        inputs: {
          ids: [
            [1, 2, 3, 4],
            [4, 5, 6, 7],
          ],
        },
      },
      "ids",
    );
    expect(nested.status).toBe(200);
    const body = nested.body as { predictions: unknown[]; predictionIds: string[] };
    expect(body.predictions).toHaveLength(2);
    expect(body.predictionIds).toHaveLength(2);
    const shaped = await score({ inputs: { ids: { shape: [2, 4], data: [1, 2, 3, 4, 4, 5, 6, 7] } } }, "ids");
    expect((shaped.body as { predictions: unknown[] }).predictions).toEqual(body.predictions);
  });

  it("records latency and per-feature summaries for scored rows", async () => {
    h.recorder.takeWindow();
    await score({
      instances: [
        { temp: 10, humidity: 1, current: 0 },
        { temp: 30, humidity: 3, vibration: 1, current: 0 },
      ],
    });
    await score({ features: { temp: "hot", humidity: 1, current: 0 } });
    const window = h.recorder.takeWindow().find((w) => w.name === "classifier")!;
    expect(window).toMatchObject({ requests: 2, errors: 1 });
    expect(window.inputs.find((input) => input.name === "temp")).toEqual({
      name: "temp",
      count: 2,
      missing: 0,
      min: 10,
      max: 30,
      sum: 40,
      sumSquares: 1000,
    });
    expect(window.inputs.find((input) => input.name === "vibration")).toMatchObject({ count: 2, missing: 1 });
  });
});

describe("POST /v1/modules/{name}/score refusals", () => {
  it.each([
    ["a body that is not JSON", "{", /not valid JSON/],
    ["none of features, instances or inputs", {}, /exactly one of "features", "instances" or "inputs"/],
    ["both features and instances", { features: {}, instances: [{}] }, /exactly one of/],
    ["an unknown field", { features: { temp: 1 }, extra: 1 }, /extra/],
    ["an empty instances list", { instances: [] }, /instances/],
    ["a feature that is not a number", { features: { temp: "hot", humidity: 1, current: 0 } }, /temp/],
    ["a missing feature without default", { features: { temp: 1, humidity: 1 } }, /current/],
    ["features that are not an object", { features: [1, 2, 3, 4] }, /features/],
  ])("refuses %s with 400 invalid_input", async (_, body, message) => {
    expectError(await score(body), 400, "invalid_input", message);
  });

  it("lists every bad row and feature in details", async () => {
    const reply = await score({
      instances: [
        { temp: 1, humidity: 1, current: 0 },
        { temp: "x", humidity: 1 },
      ],
    });
    expectError(reply, 400, "invalid_input", /feature "temp" in row 1 must be a finite number/);
    expect((reply.body as { error: { details: unknown } }).error.details).toEqual({
      problems: [
        { row: 1, feature: "temp", message: expect.stringMatching(/temp/) },
        { row: 1, feature: "current", message: expect.stringMatching(/missing feature "current"/) },
      ],
    });
  });

  it("refuses features for a module without tabular preprocessing", async () => {
    expectError(
      await score({ features: { a: 1 } }, "ids"),
      400,
      "invalid_input",
      /no tabular preprocessing; send model tensors as "inputs"/,
    );
  });

  it("refuses bad raw tensors", async () => {
    expectError(
      await score({ inputs: { ids: [[1, 2, 3]] } }, "ids"),
      400,
      "invalid_input",
      /input "ids" has shape \[1,3\]/,
    );
    expectError(
      await score({ inputs: { ids: [[1, 2.5, 3, 4]] } }, "ids"),
      400,
      "invalid_input",
      /element 1 is 2.5/,
    );
    expectError(
      await score({ inputs: { nope: [[1]] } }, "ids"),
      400,
      "invalid_input",
      /unknown input "nope"/,
    );
    expectError(await score({ inputs: { ids: [[1, 2], [3]] } }, "ids"), 400, "invalid_input", /ragged/);
  });

  it("refuses an unknown module with 404", async () => {
    expectError(
      await score({ features: { temp: 1 } }, "nope"),
      404,
      "not_found",
      /model "nope" is not served/,
    );
  });

  it("refuses a body over the size limit with 413 and keeps serving", async () => {
    const rows = Array.from({ length: 500 }, () => ({ temp: 1, humidity: 2, vibration: 3, current: 4 }));
    expectError(
      await score({ instances: rows }),
      413,
      "payload_too_large",
      /exceeds the limit of 16384 bytes/,
    );
    expect((await score({ features: { temp: 1, humidity: 2, current: 3 } })).status).toBe(200);
  });

  it("lets a module's runtime.maxBodyBytes raise the agent's limit on its own routes only", async () => {
    const rows = (n: number) => ({
      inputs: { x: Array.from({ length: n }, () => new Array(256).fill(0.5)) },
    });
    // ~50 KB: over the agent's 16 KiB, under the module's 256 KiB.
    const accepted = await score(rows(40), "roomy");
    expect(accepted.status).toBe(200);
    expect((accepted.body as { predictions: unknown[] }).predictions).toHaveLength(40);
    expectError(
      await score(rows(400), "roomy"),
      413,
      "payload_too_large",
      /exceeds the limit of 262144 bytes \(module "roomy" runtime.maxBodyBytes\)/,
    );
    // The classifier keeps the agent's limit.
    const big = Array.from({ length: 500 }, () => ({ temp: 1, humidity: 2, vibration: 3, current: 4 }));
    expectError(
      await score({ instances: big }),
      413,
      "payload_too_large",
      /16384 bytes \(the agent's maxBodyBytes\)/,
    );
  });
});

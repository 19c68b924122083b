import { join } from "node:path";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifierModule, IDENTITY_DATATYPES, identityModule, idsModule } from "../runtime/test-modules.js";
import { call, type Harness, startHarness } from "./test-harness.js";

let h: Harness;
let base: string;
beforeAll(async () => {
  h = await startHarness([await classifierModule(), await idsModule(), await identityModule()], {
    maxBodyBytes: 64 * 1024,
  });
  base = h.server.url;
});
afterAll(() => h.close());

const features = (data: unknown, shape = [2, 4], datatype = "FP32") => ({
  inputs: [{ name: "features", shape, datatype, data }],
});
const ROWS = [
  [0.5, -1, 2, 0.25],
  [1, 2, 3, 4],
];

/** An infer answer without its per-request prediction ids (random, so they differ between calls). */
function withoutIds(body: unknown): unknown {
  const { parameters: _ids, ...rest } = body as { parameters?: unknown };
  return rest;
}

/** The refusal body of the protocol: exactly `{"error": "<message>"}`. */
function expectOipError(reply: { status: number; body: unknown }, status: number, message: RegExp) {
  expect(reply.status).toBe(status);
  expect(Object.keys(reply.body as object)).toEqual(["error"]);
  expect((reply.body as { error: unknown }).error).toMatch(message);
}

describe("OIP server metadata and health (happy path)", () => {
  it("describes the server", async () => {
    const expected = { name: "edgefleet-agent", version: "0.1.0-test", extensions: ["binary_tensor_data"] };
    expect((await call(`${base}/v2`)).body).toEqual(expected);
    expect((await call(`${base}/v2/`)).body).toEqual(expected);
  });

  it("is live and ready with JSON bodies", async () => {
    expect(await call(`${base}/v2/health/live`)).toMatchObject({ status: 200, body: { live: true } });
    expect(await call(`${base}/v2/health/ready`)).toMatchObject({ status: 200, body: { ready: true } });
  });

  it("is not ready while no module is active", async () => {
    const empty = await startHarness([]);
    try {
      expectOipError(await call(`${empty.server.url}/v2/health/ready`), 503, /no model is loaded/);
      expect((await call(`${empty.server.url}/v2/health/live`)).status).toBe(200);
    } finally {
      await empty.close();
    }
  });
});

describe("OIP model metadata and readiness", () => {
  const metadata = {
    name: "classifier",
    versions: ["1.0.0"],
    platform: "onnxruntime_onnx",
    inputs: [{ name: "features", datatype: "FP32", shape: [-1, 4] }],
    outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 3] }],
  };

  it("describes a model with and without a version", async () => {
    expect(await call(`${base}/v2/models/classifier`)).toMatchObject({ status: 200, body: metadata });
    expect(await call(`${base}/v2/models/classifier/versions/1.0.0`)).toMatchObject({
      status: 200,
      body: metadata,
    });
  });

  it("reports readiness", async () => {
    const ready = { name: "classifier", ready: true };
    expect(await call(`${base}/v2/models/classifier/ready`)).toMatchObject({ status: 200, body: ready });
    expect(await call(`${base}/v2/models/classifier/versions/1.0.0/ready`)).toMatchObject({
      status: 200,
      body: ready,
    });
  });

  it("refuses unknown models (404) and versions not served (400)", async () => {
    expectOipError(await call(`${base}/v2/models/nope`), 404, /model "nope" is not served/);
    expectOipError(await call(`${base}/v2/models/nope/ready`), 404, /not served/);
    expectOipError(
      await call(`${base}/v2/models/classifier/versions/9.9.9`),
      400,
      /version "9.9.9" is not served/,
    );
    expectOipError(
      await call(`${base}/v2/models/classifier/versions/9.9.9/ready`),
      400,
      /serving version "1.0.0"/,
    );
  });
});

describe("OIP inference (happy path)", () => {
  it("scores FP32 like a direct session.run, echoing the id", async () => {
    const reply = await call(`${base}/v2/models/classifier/infer`, "POST", {
      id: "req-1",
      ...features(ROWS),
    });
    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/application\/json/);
    const direct = await InferenceSession.create(join(h.dirs[0]!.dir, "model.onnx"));
    const expected = await direct.run({
      features: new Tensor("float32", Float32Array.from(ROWS.flat()), [2, 4]),
    });
    await direct.release();
    expect(reply.body).toEqual({
      id: "req-1",
      parameters: { prediction_ids: [expect.any(String), expect.any(String)] },
      model_name: "classifier",
      model_version: "1.0.0",
      outputs: [
        {
          name: "logits",
          datatype: "FP32",
          shape: [2, 3],
          data: Array.from(expected.logits!.data as Float32Array),
        },
      ],
    });
  });

  it("accepts flat data and a version segment", async () => {
    const nested = await call(`${base}/v2/models/classifier/infer`, "POST", features(ROWS));
    const flat = await call(
      `${base}/v2/models/classifier/versions/1.0.0/infer`,
      "POST",
      features(ROWS.flat()),
    );
    expect(flat.status).toBe(200);
    expect(withoutIds(flat.body)).toEqual(withoutIds(nested.body));
    expect(flat.body).not.toHaveProperty("id");
  });

  it("gives one prediction id per row, and none to batches over 1024 rows", async () => {
    const three = await call(
      `${base}/v2/models/classifier/infer`,
      "POST",
      features([...ROWS, ROWS[0]], [3, 4]),
    );
    const ids = (three.body as { parameters: { prediction_ids: string[] } }).parameters.prediction_ids;
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
    const rows = 1025;
    const big = await call(
      `${base}/v2/models/classifier/infer`,
      "POST",
      features(new Array(rows * 4).fill(1), [rows, 4]),
    );
    expect(big.status).toBe(200);
    expect(big.body).not.toHaveProperty("parameters");
    expect((big.body as { outputs: { shape: number[] }[] }).outputs[0]!.shape).toEqual([rows, 3]);
  });

  it("takes INT64 from JSON numbers and returns INT64 as numbers", async () => {
    const reply = await call(`${base}/v2/models/ids/infer`, "POST", {
      inputs: [
        {
          name: "ids",
          shape: [2, 4],
          datatype: "INT64",
          data: [
            [1, 2, 3, 4],
            [10, -20, 2 ** 40, 0],
          ],
        },
      ],
    });
    expect(reply.status).toBe(200);
    expect((reply.body as { outputs: unknown[] }).outputs).toEqual([
      { name: "sum", datatype: "FP32", shape: [2, 1], data: [10, Math.fround(2 ** 40 - 10)] },
      { name: "max_id", datatype: "INT64", shape: [2, 1], data: [4, 2 ** 40] },
    ]);
  });

  it("accepts parameters it does not use, and binary_data_output false means JSON", async () => {
    const reply = await call(`${base}/v2/models/classifier/infer`, "POST", {
      parameters: { binary_data_output: false, priority: 1, custom: "x" },
      inputs: [{ ...features(ROWS).inputs[0], parameters: { note: "kept out of the way" } }],
      outputs: [{ name: "logits", parameters: { binary_data: false } }],
    });
    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/application\/json/);
    expect((reply.body as { outputs: { data: number[] }[] }).outputs[0]!.data).toHaveLength(6);
  });

  it("returns only the requested outputs", async () => {
    const reply = await call(`${base}/v2/models/ids/infer`, "POST", {
      inputs: [{ name: "ids", shape: [1, 4], datatype: "INT64", data: [5, 6, 7, 8] }],
      outputs: [{ name: "max_id" }],
    });
    expect((reply.body as { outputs: unknown[] }).outputs).toEqual([
      { name: "max_id", datatype: "INT64", shape: [1, 1], data: [8] },
    ]);
  });

  it("round-trips every supported datatype", async () => {
    const values: Record<string, unknown[]> = {
      FP32: [1.5, -2],
      FP64: [0.1, 1e300],
      INT32: [-2147483648, 7],
      INT64: [-(2 ** 53 - 1), 2 ** 53 - 1],
      UINT8: [0, 255],
      INT8: [-128, 127],
      BOOL: [true, false],
      FP16: [0.5, -1024],
      INT16: [-32768, 32767],
      UINT16: [0, 65535],
      UINT32: [0, 4294967295],
      UINT64: [0, 2 ** 53 - 1],
      BYTES: ["héllo", ""],
    };
    const reply = await call(`${base}/v2/models/identity/infer`, "POST", {
      inputs: IDENTITY_DATATYPES.map((datatype) => ({
        name: `x_${datatype.toLowerCase()}`,
        shape: [1, 2],
        datatype,
        data: values[datatype],
      })),
    });
    expect(reply.status).toBe(200);
    expect((reply.body as { outputs: unknown[] }).outputs).toEqual(
      IDENTITY_DATATYPES.map((datatype) => ({
        name: `y_${datatype.toLowerCase()}`,
        datatype,
        shape: [1, 2],
        data: values[datatype],
      })),
    );
  });
});

describe("OIP inference refusals", () => {
  const infer = (body: unknown, model = "classifier") =>
    call(`${base}/v2/models/${model}/infer`, "POST", body);

  it.each([
    ["a body that is not JSON", "{not json", 400, /not valid JSON/],
    ["an empty body", "", 400, /body is empty/],
    ["no inputs field", { id: "x" }, 400, /inputs/],
    ["an empty inputs list", { inputs: [] }, 400, /inputs/],
    ["a negative dimension", features(ROWS, [-2, 4]), 400, /shape/],
    ["an unknown datatype", features(ROWS, [2, 4], "FLOAT"), 400, /datatype must be one of/],
    ["data that is not an array", features(5), 400, /data must be an array/],
    [
      "an input without data",
      { inputs: [{ name: "features", shape: [1, 4], datatype: "FP32" }] },
      400,
      /either data or parameters.binary_data_size/,
    ],
    [
      "the classification extension",
      { ...features(ROWS), outputs: [{ name: "logits", parameters: { classification: 2 } }] },
      400,
      /classification extension is not supported/,
    ],
    [
      "a binary_data_output that is not a boolean",
      { ...features(ROWS), parameters: { binary_data_output: "yes" } },
      400,
      /binary_data_output/,
    ],
    [
      "binary_data_size without the binary header",
      {
        inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", parameters: { binary_data_size: 16 } }],
      },
      400,
      /no Inference-Header-Content-Length header/,
    ],
    [
      "a wrong shape",
      features(ROWS.flat().slice(0, 6), [2, 3]),
      400,
      /input "features" has shape \[2,3\] but the model expects \[-1,4\]/,
    ],
    [
      "a wrong datatype",
      features(ROWS, [2, 4], "FP64"),
      400,
      /input "features" has datatype FP64 but the model expects FP32/,
    ],
    [
      "a wrong element count",
      features([1, 2, 3], [1, 4]),
      400,
      /data has 3 elements but shape \[1,4\] needs 4/,
    ],
    [
      "a declared shape of 2³³ elements over four numbers (counted before any allocation)",
      features([1, 2, 3, 4], [2 ** 31, 4]),
      400,
      /data has 4 elements but shape \[2147483648,4\] needs 8589934592/,
    ],
    [
      "a non-number element",
      features([1, 2, "x", 4], [1, 4]),
      400,
      /element 2 is "x", expected a number for FP32/,
    ],
    [
      "an unknown input",
      { inputs: [...features(ROWS).inputs, { name: "extra", shape: [1], datatype: "FP32", data: [1] }] },
      400,
      /unknown input "extra"/,
    ],
    [
      "an unknown output",
      { ...features(ROWS), outputs: [{ name: "probs" }] },
      400,
      /unknown output "probs"; the model's outputs are "logits"/,
    ],
  ])("refuses %s", async (_, body, status, message) => {
    expectOipError(await infer(body), status, message);
  });

  it("refuses a missing input", async () => {
    const inputs = IDENTITY_DATATYPES.slice(1).map((datatype) => ({
      name: `x_${datatype.toLowerCase()}`,
      shape: [1, 2],
      datatype,
      data: datatype === "BOOL" ? [true, true] : datatype === "BYTES" ? ["a", "b"] : [1, 1],
    }));
    expectOipError(await infer({ inputs }, "identity"), 400, /missing input "x_fp32"/);
  });

  it("refuses non-integers and unsafe integers for INT64", async () => {
    const ids = (data: unknown[]) => ({ inputs: [{ name: "ids", shape: [1, 4], datatype: "INT64", data }] });
    expectOipError(await infer(ids([1, 2.5, 3, 4]), "ids"), 400, /element 1 is 2.5, expected an integer/);
    expectOipError(await infer(ids([1, 2, 3, 2 ** 60]), "ids"), 400, /element 3 .* expected an integer/);
  });

  it("refuses unknown models (404) and versions not served (400)", async () => {
    expectOipError(await infer(features(ROWS), "nope"), 404, /model "nope" is not served/);
    const reply = await call(`${base}/v2/models/classifier/versions/2.0.0/infer`, "POST", features(ROWS));
    expectOipError(reply, 400, /version "2.0.0" is not served/);
  });

  it("refuses a body over the size limit with 413", async () => {
    const big = features(new Array(20_000).fill(1.2345), [5000, 4]);
    expectOipError(await infer(big), 413, /exceeds the limit of 65536 bytes \(the agent.s maxBodyBytes\)/);
  });

  it("keeps serving after every refusal, and records them", async () => {
    h.recorder.takeWindow();
    await infer("{");
    await infer(features(ROWS, [2, 4], "INT32"));
    const reply = await infer(features(ROWS));
    expect(reply.status).toBe(200);
    const window = h.recorder.takeWindow().find((w) => w.name === "classifier");
    // The unparsable body never reached a module; the wrong datatype did.
    expect(window).toMatchObject({ version: "1.0.0", requests: 2, errors: 1 });
    // The answered rows' labels feed the output summary the prediction-shift gates read.
    const labels = window!.outputs?.find((o) => o.name === "label");
    expect(labels?.count).toBe(2);
    expect(Object.values((labels as { labels: Record<string, number> }).labels).reduce((a, b) => a + b)).toBe(
      2,
    );
  });
});

describe("routes", () => {
  it("answers a wrong verb on infer with 405", async () => {
    expectOipError(await call(`${base}/v2/models/classifier/infer`), 405, /GET is not allowed .* use POST/);
  });

  it("listens on loopback by default", () => {
    expect(h.server.url).toBe(`http://127.0.0.1:${h.server.port}`);
  });

  it("answers unknown paths in each family's error shape", async () => {
    expectOipError(await call(`${base}/v2/nothing`), 404, /no route for GET \/v2\/nothing/);
    const friendly = await call(`${base}/v1/nothing`);
    expect(friendly).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
  });
});

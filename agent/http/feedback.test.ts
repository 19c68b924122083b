import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EventInput } from "../mqtt-link.js";
import { PredictionLog } from "../runtime/prediction-log.js";
import { CLASSIFIER_LABELS, classifierModule, idsModule } from "../runtime/test-modules.js";
import { call, type Harness, startHarness } from "./test-harness.js";

let h: Harness;
let now = 1_000_000;
const events: EventInput[] = [];
const predictions = new PredictionLog({ ttlMs: 60_000, now: () => now });
beforeAll(async () => {
  h = await startHarness([await classifierModule("1.2.0"), await idsModule()], {
    predictions,
    emitEvent: (event) => events.push(event),
  });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  events.length = 0;
  h.recorder.takeWindow();
});

/** Scores one row and returns its prediction id and predicted label. */
async function scoreOne(): Promise<{ id: string; label: string }> {
  const reply = await call(`${h.server.url}/v1/modules/classifier/score`, "POST", {
    features: { temp: 30, humidity: 45, current: 2 },
  });
  const body = reply.body as { predictionIds: string[]; predictions: { label: string }[] };
  return { id: body.predictionIds[0]!, label: body.predictions[0]!.label };
}

const feedback = (body: unknown) => call(`${h.server.url}/v1/feedback`, "POST", body);

function expectError(
  reply: { status: number; body: unknown },
  status: number,
  code: string,
  message: RegExp,
) {
  expect(reply.status).toBe(status);
  const { error } = reply.body as { error: { code: string; message: string } };
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
}

describe("POST /v1/feedback", () => {
  it("joins a matching label to its prediction, counts it and forwards it to the hub", async () => {
    const { id, label } = await scoreOne();
    const reply = await feedback({ predictionId: id, label });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      predictionId: id,
      module: "classifier",
      version: "1.2.0",
      predicted: label,
      correct: true,
    });
    expect(events).toEqual([
      expect.objectContaining({
        kind: "feedback",
        module: "classifier",
        version: "1.2.0",
        details: expect.objectContaining({ predictionId: id, label, correct: true }),
      }),
    ]);
    const window = h.recorder.takeWindow().find((entry) => entry.name === "classifier");
    expect(window).toMatchObject({ requests: 1, labelled: 1, correct: 1 });
  });

  it("counts a wrong label as labelled but not correct", async () => {
    const { id, label } = await scoreOne();
    const wrong = label === "ok" ? "fail" : "ok";
    const reply = await feedback({ predictionId: id, label: wrong });
    expect(reply.body).toMatchObject({ predicted: label, correct: false });
    expect(h.recorder.takeWindow()[0]).toMatchObject({ labelled: 1, correct: 0 });
  });

  it("forwards a value for a prediction without a label, without counting it", async () => {
    const scored = await call(`${h.server.url}/v1/modules/ids/score`, "POST", {
      inputs: { ids: [[1, 2, 3, 4]] },
    });
    const id = (scored.body as { predictionIds: string[] }).predictionIds[0]!;
    const reply = await feedback({ predictionId: id, value: 10 });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ predictionId: id, module: "ids", version: "1.0.0" });
    expect(events[0]?.details).toMatchObject({ predictionId: id, value: 10 });
    expect(h.recorder.takeWindow()[0]).not.toHaveProperty("labelled");
  });

  it("answers 404 for an unknown or expired prediction id", async () => {
    expectError(
      await feedback({ predictionId: "nope", label: "ok" }),
      404,
      "not_found",
      /unknown or expired/,
    );
    const { id } = await scoreOne();
    now += 60_001;
    expectError(await feedback({ predictionId: id, label: "ok" }), 404, "not_found", /unknown or expired/);
    expect(events).toEqual([]);
  });

  it("answers 409 for a second feedback on one prediction and counts only the first", async () => {
    const { id, label } = await scoreOne();
    expect((await feedback({ predictionId: id, label })).status).toBe(200);
    expectError(await feedback({ predictionId: id, label }), 409, "conflict", /already has feedback/);
    expect(events).toHaveLength(1);
    expect(h.recorder.takeWindow()[0]).toMatchObject({ labelled: 1 });
  });

  it("refuses bad bodies with 400 and changes nothing", async () => {
    const { id } = await scoreOne();
    const bad: unknown[] = [
      { predictionId: id },
      { predictionId: id, label: "ok", value: 1 },
      { predictionId: id, label: "ok", extra: true },
      { label: "ok" },
      { predictionId: "", label: "ok" },
      { predictionId: id, label: { nested: true } },
      "not json",
      "",
    ];
    for (const body of bad) expectError(await feedback(body), 400, "invalid_input", /./);
    expect(events).toEqual([]);
    expect(h.recorder.takeWindow()[0]).not.toHaveProperty("labelled");
    // The prediction can still take its feedback.
    expect((await feedback({ predictionId: id, label: "ok" })).status).toBe(200);
  });
});

describe("POST /v1/feedback for Open Inference Protocol rows", () => {
  const ROWS = [
    [0.5, -1, 2, 0.25],
    [1, 2, 3, 4],
    [-3, 0, 0.5, 1],
  ];
  /** Infers a batch through OIP; returns the answer's prediction ids and the argmax label per row. */
  async function inferBatch(): Promise<{ ids: string[]; labels: string[]; body: Record<string, unknown> }> {
    const reply = await call(`${h.server.url}/v2/models/classifier/infer`, "POST", {
      id: "batch-1",
      inputs: [{ name: "features", shape: [3, 4], datatype: "FP32", data: ROWS }],
    });
    expect(reply.status).toBe(200);
    const body = reply.body as { parameters: { prediction_ids: string[] }; outputs: { data: number[] }[] };
    const logits = body.outputs[0]!.data;
    const labels = ROWS.map((_, r) => {
      const row = logits.slice(r * 3, r * 3 + 3);
      return CLASSIFIER_LABELS[row.indexOf(Math.max(...row))]!;
    });
    return { ids: body.parameters.prediction_ids, labels, body: reply.body as Record<string, unknown> };
  }

  it("answers one id per row after the usual fields, and publishes each row with its prediction", async () => {
    const subscription = predictions.subscribe("classifier");
    try {
      const { ids, labels, body } = await inferBatch();
      expect(ids).toHaveLength(3);
      expect(new Set(ids).size).toBe(3);
      // The protocol's fields keep their order; the ids come last, in `parameters`.
      expect(Object.keys(body)).toEqual(["model_name", "model_version", "outputs", "id", "parameters"]);
      const items = await subscription.next();
      expect(items?.map((item) => item.kind === "prediction" && item.record.id)).toEqual(ids);
      for (const [r, id] of ids.entries()) {
        expect(predictions.find(id)).toMatchObject({
          module: "classifier",
          version: "1.2.0",
          prediction: { label: labels[r] },
        });
      }
    } finally {
      subscription.close();
    }
  });

  it("joins a label to one OIP row and counts it", async () => {
    const { ids, labels } = await inferBatch();
    const reply = await feedback({ predictionId: ids[1], label: labels[1] });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      predictionId: ids[1],
      module: "classifier",
      version: "1.2.0",
      predicted: labels[1],
      correct: true,
    });
    expect(events).toHaveLength(1);
    expect(h.recorder.takeWindow().find((w) => w.name === "classifier")).toMatchObject({
      labelled: 1,
      correct: 1,
    });
    expectError(await feedback({ predictionId: ids[1], label: labels[1] }), 409, "conflict", /already/);
  });

  it("refuses ids no answer carried, such as the request id with a row number", async () => {
    await inferBatch();
    for (const predictionId of ["batch-1", "batch-1:0", "00000000-0000-4000-8000-000000000000"]) {
      expectError(await feedback({ predictionId, label: "ok" }), 404, "not_found", /unknown or expired/);
    }
    expect(events).toEqual([]);
    expect(h.recorder.takeWindow()[0]).not.toHaveProperty("labelled");
  });

  it("publishes a raw module's row with only the outputs the client selected", async () => {
    // The ids module is raw: its prediction is the outputs the client asked for.
    const reply = await call(`${h.server.url}/v2/models/ids/infer`, "POST", {
      inputs: [{ name: "ids", shape: [1, 4], datatype: "INT64", data: [5, 6, 7, 8] }],
      outputs: [{ name: "max_id" }],
    });
    const [id] = (reply.body as { parameters: { prediction_ids: string[] } }).parameters.prediction_ids;
    expect(predictions.find(id!)?.prediction).toEqual({ max_id: [8] });
    const value = await feedback({ predictionId: id, value: 8 });
    expect(value.body).toEqual({ predictionId: id, module: "ids", version: "1.0.0" });
  });
});

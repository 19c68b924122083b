import { describe, expect, it } from "vitest";
import type { Postprocessing } from "../../modules/index.js";
import { MAX_ID_ROWS, MAX_RAW_VALUES_PER_ROW, oipPredictions, predictionIdsFor } from "./oip-predictions.js";

const logits = (rows: number, width = 3) => ({
  data: Float32Array.from({ length: rows * width }, (_, i) => i % width),
  dims: [rows, width],
});
const softmax: Postprocessing = {
  kind: "softmax",
  output: "logits",
  labels: ["ok", "warn", "fail"],
  fromProbabilities: false,
};

describe("predictionIdsFor", () => {
  it("gives one distinct id per row", () => {
    const ids = predictionIdsFor(5)!;
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(5);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("gives none for empty batches or batches over the limit", () => {
    expect(predictionIdsFor(0)).toBeUndefined();
    expect(predictionIdsFor(MAX_ID_ROWS + 1)).toBeUndefined();
    expect(predictionIdsFor(MAX_ID_ROWS)).toHaveLength(MAX_ID_ROWS);
  });
});

describe("oipPredictions", () => {
  it("postprocesses the outputs the request got back", () => {
    const predictions = oipPredictions(softmax, { logits: logits(2) }, 2);
    expect(predictions).toHaveLength(2);
    expect(predictions![1]).toMatchObject({ label: "fail" });
  });

  it("derives nothing when the postprocessing's output was not selected", () => {
    expect(oipPredictions(softmax, { other: logits(2) }, 2)).toBeUndefined();
  });

  it("derives nothing when the outputs do not fit the postprocessing, without throwing", () => {
    expect(oipPredictions(softmax, { logits: logits(2, 4) }, 2)).toBeUndefined();
    expect(oipPredictions(softmax, { logits: logits(2) }, 3)).toBeUndefined();
  });

  it("keeps raw rows up to the value limit and drops bigger ones", () => {
    const raw = { kind: "raw" } as const;
    const small = { y: { data: Float32Array.of(1.5, 2.5), dims: [2, 1] } };
    expect(oipPredictions(raw, small, 2)).toEqual([{ y: [1.5] }, { y: [2.5] }]);
    const big = { y: logits(2, MAX_RAW_VALUES_PER_ROW + 1) };
    expect(oipPredictions(raw, big, 2)).toBeUndefined();
  });
});

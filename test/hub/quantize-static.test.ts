/**
 * `POST .../quantize` with `mode: static`: refusals are 4xx and change nothing (the happy path with
 * a trained MLP is hub/quantization/measure.test.ts and, through the CLI, test/cli/int8-cli.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HubApiError } from "../../hub-api/client.js";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { startTestHub, type TestHub } from "../support/hub.js";

let hub: TestHub;

beforeAll(async () => {
  hub = await startTestHub();
  const model = buildMlpClassifier({ inputSize: 4, hiddenSizes: [8], classes: 2, seed: 1 });
  await hub.client.request("POST", "/api/v1/models/uploaded/versions", model.bytes);
});

afterAll(async () => {
  await hub?.dispose();
});

async function refusal(body: unknown): Promise<HubApiError> {
  try {
    await hub.client.post("/api/v1/models/uploaded/versions/1/quantize", body);
  } catch (error) {
    return error as HubApiError;
  }
  throw new Error("expected a refusal");
}

describe("static quantization refusals", () => {
  it("refuses a model with no dataset (uploaded, not trained) with 400 and records nothing", async () => {
    const error = await refusal({ mode: "static" });
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/uploaded, not trained by a run/);
    const version = await hub.client.get<{ int8: unknown }>("/api/v1/models/uploaded/versions/1");
    expect(version.int8).toBeNull();
  });

  it("refuses an unknown mode with 400", async () => {
    const error = await refusal({ mode: "fp4" });
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/mode/);
  });
});

/** GET /api/v1/models/{name}/versions/{version}/file on `app.request()`: the registered bytes, ranges, refusals. */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { type ApiTestApp, createApiTestApp } from "../support/api-app.js";
import { expectApiError, expectJson } from "../support/api-expect.js";

let api: ApiTestApp;
const model = buildMlpClassifier({ inputSize: 3, hiddenSizes: [4], classes: 2, seed: 5 });
const sha256 = createHash("sha256").update(model.bytes).digest("hex");

beforeAll(async () => {
  api = await createApiTestApp();
  await expectJson(
    await api.call("POST", "/api/v1/models/tiny/versions", {
      body: model.bytes,
      headers: { "content-type": "application/octet-stream" },
    }),
  );
  await expectJson(await api.call("PUT", "/api/v1/models/tiny/aliases/champion", { json: { version: 1 } }));
});
afterAll(async () => {
  await api?.close();
});

describe("model file download", () => {
  it("answers the registered bytes for a number or an alias, with name, version and sha256", async () => {
    for (const ref of ["1", "champion"]) {
      const response = await api.call("GET", `/api/v1/models/tiny/versions/${ref}/file`, { as: "viewer" });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-disposition")).toBe('attachment; filename="tiny-1.onnx"');
      expect(response.headers.get("x-model-sha256")).toBe(sha256);
      expect(response.headers.get("x-model-version")).toBe("1");
      const bytes = new Uint8Array(await response.arrayBuffer());
      expect(Buffer.compare(bytes, model.bytes)).toBe(0);
    }
  });

  it("serves a range, so a large model's download can resume", async () => {
    const response = await api.call("GET", "/api/v1/models/tiny/versions/1/file", {
      headers: { range: "bytes=10-19" },
    });
    expect(response.status).toBe(206);
    expect(response.headers.get("content-range")).toBe(`bytes 10-19/${model.bytes.byteLength}`);
    expect(Buffer.compare(new Uint8Array(await response.arrayBuffer()), model.bytes.subarray(10, 20))).toBe(
      0,
    );
  });

  it("refuses an unknown version or model (404), a bad name (400) and no credentials (401)", async () => {
    await expectApiError(await api.call("GET", "/api/v1/models/tiny/versions/7/file"), 404, "not_found");
    await expectApiError(await api.call("GET", "/api/v1/models/nope/versions/1/file"), 404, "not_found");
    const bad = await api.call("GET", "/api/v1/models/Bad%20Name/versions/1/file");
    expect(bad.status).toBe(400);
    const anonymous = await api.call("GET", "/api/v1/models/tiny/versions/1/file", { as: null });
    expect(anonymous.status).toBe(401);
  });
});

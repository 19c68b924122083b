/**
 * The OIP binary tensor data extension (Triton extension_binary_data.md),
 * checked from the text: JSON header of Inference-Header-Content-Length bytes, then each
 * tensor's little-endian bytes in JSON order; BOOL one byte; BYTES length-prefixed; a header of 0
 * is a raw one-input request answered in binary.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifierModule, IDENTITY_DATATYPES, identityModule } from "../runtime/test-modules.js";
import { type Harness, startHarness } from "./test-harness.js";

let h: Harness;
let base: string;
beforeAll(async () => {
  h = await startHarness([await classifierModule(), await identityModule()]);
  base = h.server.url;
});
afterAll(() => h.close());

interface BinaryReply {
  status: number;
  json: Record<string, unknown> & { outputs?: { name: string; parameters?: { binary_data_size: number } }[] };
  /** Binary output bytes by output name, cut by their binary_data_size in order. */
  tensors: Record<string, Uint8Array>;
  headerLength: string | null;
}

/** Sends a JSON header plus binary tails, parses the reply in either framing. */
async function binaryInfer(
  model: string,
  json: unknown,
  tails: Uint8Array[],
  header?: string,
): Promise<BinaryReply> {
  const head = new TextEncoder().encode(JSON.stringify(json));
  const body = Buffer.concat([head, ...tails]);
  const response = await fetch(`${base}/v2/models/${model}/infer`, {
    method: "POST",
    headers: {
      "content-type": "application/octet-stream",
      "inference-header-content-length": header ?? String(head.length),
    },
    body,
  });
  return parseReply(response);
}

async function parseReply(response: Response): Promise<BinaryReply> {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const headerLength = response.headers.get("inference-header-content-length");
  const jsonEnd = headerLength === null ? bytes.length : Number(headerLength);
  const json = JSON.parse(new TextDecoder().decode(bytes.subarray(0, jsonEnd))) as BinaryReply["json"];
  const tensors: Record<string, Uint8Array> = {};
  let offset = jsonEnd;
  for (const output of json.outputs ?? []) {
    const size = output.parameters?.binary_data_size;
    if (size === undefined) continue;
    tensors[output.name] = bytes.subarray(offset, offset + size);
    offset += size;
  }
  expect(offset).toBe(bytes.length);
  return { status: response.status, json, tensors, headerLength };
}

const bytesOf = (array: ArrayBufferView) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

/** Two elements of every datatype, as little-endian bytes. */
const SAMPLES: Record<(typeof IDENTITY_DATATYPES)[number], Uint8Array> = {
  FP32: bytesOf(Float32Array.of(1.5, -2)),
  FP64: bytesOf(Float64Array.of(0.1, 1e300)),
  INT32: bytesOf(Int32Array.of(-2147483648, 7)),
  INT64: bytesOf(BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n)),
  UINT8: Uint8Array.of(0, 255),
  INT8: bytesOf(Int8Array.of(-128, 127)),
  BOOL: Uint8Array.of(1, 0),
  FP16: bytesOf(Uint16Array.of(0x3800, 0xe400)),
  INT16: bytesOf(Int16Array.of(-32768, 32767)),
  UINT16: bytesOf(Uint16Array.of(0, 65535)),
  UINT32: bytesOf(Uint32Array.of(0, 4294967295)),
  UINT64: bytesOf(BigUint64Array.of(0n, 2n ** 64n - 1n)),
  // BYTES: 4-byte little-endian length, then the bytes: "héllo" (6 bytes in UTF-8) and "".
  BYTES: Uint8Array.of(6, 0, 0, 0, 0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f, 0, 0, 0, 0),
};

const identityInputs = () =>
  IDENTITY_DATATYPES.map((datatype) => ({
    name: `x_${datatype.toLowerCase()}`,
    shape: [1, 2],
    datatype,
    parameters: { binary_data_size: SAMPLES[datatype].length },
  }));

describe("binary tensor data (happy path)", () => {
  it("round-trips every datatype bit for bit, full 64-bit range included", async () => {
    const reply = await binaryInfer(
      "identity",
      { id: "b1", parameters: { binary_data_output: true }, inputs: identityInputs() },
      IDENTITY_DATATYPES.map((datatype) => SAMPLES[datatype]),
    );
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ id: "b1", model_name: "identity", model_version: "1.0.0" });
    for (const datatype of IDENTITY_DATATYPES) {
      const output = reply.json.outputs!.find((o) => o.name === `y_${datatype.toLowerCase()}`);
      expect(output).toEqual({
        name: `y_${datatype.toLowerCase()}`,
        datatype,
        shape: [1, 2],
        parameters: { binary_data_size: SAMPLES[datatype].length },
      });
      expect(Array.from(reply.tensors[output!.name]!)).toEqual(Array.from(SAMPLES[datatype]));
    }
  });

  it("answers JSON for binary inputs unless outputs ask for binary; binary_data on an output wins", async () => {
    const inputs = identityInputs();
    const tails = IDENTITY_DATATYPES.map((datatype) => SAMPLES[datatype]);
    const json = await binaryInfer("identity", { inputs, outputs: [{ name: "y_fp32" }] }, tails);
    expect(json.headerLength).toBeNull();
    expect(json.json.outputs).toEqual([{ name: "y_fp32", datatype: "FP32", shape: [1, 2], data: [1.5, -2] }]);
    const mixed = await binaryInfer(
      "identity",
      {
        parameters: { binary_data_output: true },
        inputs,
        outputs: [{ name: "y_int8", parameters: { binary_data: false } }, { name: "y_fp32" }],
      },
      tails,
    );
    expect(mixed.json.outputs![0]).toEqual({
      name: "y_int8",
      datatype: "INT8",
      shape: [1, 2],
      data: [-128, 127],
    });
    expect(Array.from(mixed.tensors.y_fp32!)).toEqual(Array.from(SAMPLES.FP32));
  });

  it("mixes JSON data and binary inputs in one request", async () => {
    const inputs = identityInputs().map((input) =>
      input.datatype === "FP32" ? { name: input.name, shape: [1, 2], datatype: "FP32", data: [3, 4] } : input,
    );
    const tails = IDENTITY_DATATYPES.filter((d) => d !== "FP32").map((datatype) => SAMPLES[datatype]);
    const reply = await binaryInfer(
      "identity",
      { inputs, outputs: [{ name: "y_fp32" }, { name: "y_bool" }] },
      tails,
    );
    expect(reply.status).toBe(200);
    expect(reply.json.outputs).toEqual([
      { name: "y_fp32", datatype: "FP32", shape: [1, 2], data: [3, 4] },
      { name: "y_bool", datatype: "BOOL", shape: [1, 2], data: [true, false] },
    ]);
  });

  it("takes a raw binary request (header 0) as batch 1 and answers in binary", async () => {
    const row = Float32Array.of(0.5, -1, 2, 0.25);
    const response = await fetch(`${base}/v2/models/classifier/infer`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream", "inference-header-content-length": "0" },
      body: bytesOf(row),
    });
    const reply = await parseReply(response);
    expect(reply.status).toBe(200);
    expect(reply.json.outputs).toEqual([
      { name: "logits", datatype: "FP32", shape: [1, 3], parameters: { binary_data_size: 12 } },
    ]);
    const viaJson = await fetch(`${base}/v2/models/classifier/infer`, {
      method: "POST",
      body: JSON.stringify({
        inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: Array.from(row) }],
      }),
    }).then((r) => r.json() as Promise<{ outputs: { data: number[] }[] }>);
    const logits = reply.tensors.logits!;
    expect(Array.from(new Float32Array(logits.slice().buffer))).toEqual(viaJson.outputs[0]!.data);
  });
  it("carries the prediction ids in the JSON header; the binary outputs still parse", async () => {
    const rows = Float32Array.of(0.5, -1, 2, 0.25, 1, 2, 3, 4, -3, 0, 0.5, 1);
    const reply = await binaryInfer(
      "classifier",
      {
        id: "b-1",
        parameters: { binary_data_output: true },
        inputs: [{ name: "features", shape: [3, 4], datatype: "FP32", parameters: { binary_data_size: 48 } }],
      },
      [bytesOf(rows)],
    );
    expect(reply.status).toBe(200);
    expect(Number(reply.headerLength)).toBe(JSON.stringify(reply.json).length);
    expect(reply.json.outputs).toEqual([
      { name: "logits", datatype: "FP32", shape: [3, 3], parameters: { binary_data_size: 36 } },
    ]);
    expect(reply.tensors.logits).toHaveLength(36);
    const { prediction_ids: ids } = reply.json.parameters as { prediction_ids: string[] };
    expect(ids).toHaveLength(3);
    expect(Object.keys(reply.json)).toEqual(["model_name", "model_version", "outputs", "id", "parameters"]);
    const feedback = await fetch(`${base}/v1/feedback`, {
      method: "POST",
      body: JSON.stringify({ predictionId: ids[2], label: "ok" }),
    });
    expect(feedback.status).toBe(200);
  });
});

describe("binary tensor data (refusals)", () => {
  const fp32Input = (size: number) => ({
    inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", parameters: { binary_data_size: size } }],
  });
  const expectRefusal = (reply: BinaryReply, message: RegExp) => {
    expect(reply.status).toBe(400);
    expect(Object.keys(reply.json)).toEqual(["error"]);
    expect(reply.json.error).toMatch(message);
  };

  it.each([
    [
      "a header that is not a number",
      fp32Input(16),
      [new Uint8Array(16)],
      "abc",
      /must be a non-negative integer/,
    ],
    ["a header longer than the body", fp32Input(16), [new Uint8Array(16)], "100000", /has only/],
    ["a JSON header that is not JSON", fp32Input(16), [new Uint8Array(16)], "5", /are not valid JSON/],
    ["sizes past the end of the body", fp32Input(32), [new Uint8Array(16)], undefined, /add up to more than/],
    [
      "bytes no input claims",
      fp32Input(16),
      [new Uint8Array(20)],
      undefined,
      /4 bytes after the JSON are not claimed/,
    ],
    [
      "a byte count that does not fit the shape",
      fp32Input(12),
      [new Uint8Array(12)],
      undefined,
      /12 bytes .* needs 16/,
    ],
  ])("refuses %s", async (_, json, tails, header, message) => {
    expectRefusal(await binaryInfer("classifier", json, tails, header), message);
  });

  it("refuses BOOL bytes other than 0 and 1, and truncated BYTES elements", async () => {
    const inputs = identityInputs();
    const tails = (override: Partial<typeof SAMPLES>) =>
      IDENTITY_DATATYPES.map((datatype) => override[datatype] ?? SAMPLES[datatype]);
    expectRefusal(
      await binaryInfer("identity", { inputs }, tails({ BOOL: Uint8Array.of(1, 2) })),
      /BOOL element 1 is 2, not 0 or 1/,
    );
    const bytesInput = inputs.map((input) =>
      input.datatype === "BYTES" ? { ...input, parameters: { binary_data_size: 6 } } : input,
    );
    expectRefusal(
      await binaryInfer(
        "identity",
        { inputs: bytesInput },
        tails({ BYTES: Uint8Array.of(9, 0, 0, 0, 1, 2) }),
      ),
      /BYTES element 0 runs past the binary data/,
    );
  });

  it("refuses raw binary requests to models with several inputs, or bytes that do not fill the input", async () => {
    const raw = (model: string, bytes: Uint8Array) =>
      fetch(`${base}/v2/models/${model}/infer`, {
        method: "POST",
        headers: { "inference-header-content-length": "0" },
        body: bytes,
      }).then(parseReply);
    expectRefusal(await raw("identity", new Uint8Array(8)), /need a model with one input; "identity" has 13/);
    expectRefusal(await raw("classifier", new Uint8Array(12)), /12 bytes .* needs 16/);
  });
});

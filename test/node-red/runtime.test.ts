/**
 * The package in a real Node-RED runtime (node-red 4, RED.init + RED.start), installed the way a
 * user installs it (a folder under the user directory's node_modules), running the example flows
 * unchanged but for the agent URL, against a real agent scoring server with a real ONNX module.
 * Requests go through the flows' `http in` endpoints.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, type Harness } from "../../agent/http/test-harness.js";
import { classifierModule } from "../../agent/runtime/test-modules.js";
import { waitFor } from "../support/wait.js";
import { startAgent } from "./support.js";

const require = createRequire(import.meta.url);
const packageDir = new URL("../../node-red", import.meta.url).pathname;

// biome-ignore lint/suspicious/noExplicitAny: Node-RED is untyped JavaScript.
const RED: any = require("node-red");

type FlowNode = Record<string, unknown> & { id: string; type: string; x?: number };

/** The example flows as the editor would import them: on one tab, one agent config node. */
async function exampleFlows(agentUrl: string): Promise<FlowNode[]> {
  const flows: FlowNode[] = [{ id: "examples-tab", type: "tab", label: "edgefleet examples" }];
  const seen = new Set<string>();
  for (const file of ["score-http-endpoint.json", "send-feedback.json"]) {
    const nodes = JSON.parse(await readFile(join(packageDir, "examples", file), "utf8")) as FlowNode[];
    for (const node of nodes) {
      if (seen.has(node.id)) continue;
      seen.add(node.id);
      if (node.type === "edgefleet-agent") flows.push({ ...node, url: agentUrl });
      else flows.push(node.x === undefined ? node : { ...node, z: "examples-tab" });
    }
  }
  return flows;
}

let agent: Harness;
let userDir: string;
let server: Server;
let base: string;

beforeAll(async () => {
  agent = await startAgent([await classifierModule("1.2.0")]);
  userDir = await mkdtemp(join(tmpdir(), "edgefleet-node-red-"));
  // `npm install /path/to/node-red` leaves a link like this one in the user directory.
  await mkdir(join(userDir, "node_modules", "@edgefleet"), { recursive: true });
  await symlink(packageDir, join(userDir, "node_modules", "@edgefleet", "node-red-edgefleet"), "dir");
  await writeFile(join(userDir, "flows.json"), JSON.stringify(await exampleFlows(agent.server.url)));

  server = createServer((req, res) =>
    RED.httpNode(req, res, () => {
      res.statusCode = 404;
      res.end();
    }),
  );
  RED.init(server, {
    userDir,
    flowFile: "flows.json",
    credentialSecret: false,
    httpAdminRoot: false,
    httpNodeRoot: "/",
    disableEditor: true,
    externalModules: { autoInstall: false },
    logging: { console: { level: "off" } },
    editorTheme: { tours: false },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await RED.start();
  // The flows start once the package's node types are registered; until then the endpoint is 404.
  await waitFor("the example flow's http endpoint", async () => {
    const reply = await fetch(`${base}/edgefleet/score`, { method: "POST" }).catch(() => undefined);
    return reply !== undefined && reply.status !== 404;
  });
});

afterAll(async () => {
  await RED.stop();
  await new Promise((resolve) => server.close(resolve));
  await agent.close();
  await rm(userDir, { recursive: true, force: true });
});

describe("the example flows in a real Node-RED", () => {
  it("loaded the package's nodes from the user directory", () => {
    const types = RED.nodes.getNodeList().flatMap((set: { types: string[] }) => set.types);
    expect(types).toEqual(
      expect.arrayContaining([
        "edgefleet-agent",
        "edgefleet score",
        "edgefleet predictions",
        "edgefleet feedback",
      ]),
    );
  });

  it("answers POST /edgefleet/score with the agent's prediction", async () => {
    const features = { temp: 31, humidity: 40, current: 2.5 };
    const reply = await call(`${base}/edgefleet/score`, "POST", features);
    expect(reply.status).toBe(200);
    const direct = await call(`${agent.server.url}/v1/modules/classifier/score`, "POST", { features });
    const expected = (direct.body as { predictions: unknown[] }).predictions[0];
    expect(reply.body).toEqual({
      prediction: expected,
      module: "classifier",
      version: "1.2.0",
      predictionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it("scores a batch sent as an array", async () => {
    const reply = await call(`${base}/edgefleet/score`, "POST", [
      { temp: 31, humidity: 40, current: 2.5 },
      { temp: 12, humidity: 70, current: 0.5 },
    ]);
    expect(reply.status).toBe(200);
    const body = reply.body as { prediction: unknown[]; predictionIds: string[] };
    expect(body.prediction).toHaveLength(2);
    expect(body.predictionIds).toHaveLength(2);
  });

  it("turns the agent's refusal into a 400 through the Catch node", async () => {
    const reply = await call(`${base}/edgefleet/score`, "POST", { temp: "hot", humidity: 40, current: 2.5 });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: { code: "invalid_input", message: expect.stringMatching(/temp/) } });
  });

  it("sends feedback for a prediction through POST /edgefleet/feedback", async () => {
    const scored = await call(`${base}/edgefleet/score`, "POST", { temp: 31, humidity: 40, current: 2.5 });
    const { prediction, predictionId } = scored.body as {
      prediction: { label: string };
      predictionId: string;
    };
    const reply = await call(`${base}/edgefleet/feedback`, "POST", { predictionId, label: prediction.label });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ predictionId, correct: true });
    const again = await call(`${base}/edgefleet/feedback`, "POST", { predictionId, label: prediction.label });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: "conflict" } });
  });
});

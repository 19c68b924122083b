import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Harness } from "../../agent/http/test-harness.js";
import { classifierModule, writeModuleDir } from "../../agent/runtime/test-modules.js";
import {
  readTextLinePng,
  readTextOrientationModel,
  textOrientationManifest,
} from "../../modules/examples/text-orientation.js";
import {
  agentConfig,
  deadUrl,
  helper,
  nextMessage,
  nodes,
  onTab,
  startAgent,
  startHelperServer,
  statusMatching,
  stopHelperServer,
} from "./support.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const row = { temp: 31, humidity: 40, current: 2.5 };

let agent: Harness;
beforeAll(async () => {
  agent = await startAgent([
    await classifierModule("1.2.0"),
    await writeModuleDir(await readTextOrientationModel(), textOrientationManifest()),
  ]);
  await startHelperServer();
});
afterEach(async () => {
  await helper.unload();
});
afterAll(async () => {
  await stopHelperServer();
  await agent.close();
});

/** A tab with the score node wired to an output probe, and a Catch node wired to another. */
async function loadScoreFlow(url: string, module = "classifier") {
  const flow = onTab(
    [
      { id: "score", type: "edgefleet score", agent: "agent", module, wires: [["out"]] },
      { id: "out", type: "helper" },
      { id: "catch", type: "catch", scope: ["score"], wires: [["caught"]] },
      { id: "caught", type: "helper" },
    ],
    [agentConfig(url)],
  );
  await helper.load([nodes.agent, nodes.score], flow);
  return { score: helper.getNode("score"), out: helper.getNode("out"), caught: helper.getNode("caught") };
}

describe("edgefleet score", () => {
  it("puts the prediction in msg.payload and module, version and id in msg.edgefleet", async () => {
    const { score, out } = await loadScoreFlow(agent.server.url);
    const green = statusMatching(score, (status) => status.fill === "green");
    const received = nextMessage(out);
    score.receive({ payload: row, topic: "line-1" });
    const msg = await received;
    expect(msg.topic).toBe("line-1");
    expect(["ok", "warn", "fail"]).toContain(msg.payload.label);
    expect(Object.keys(msg.payload.probabilities)).toEqual(["ok", "warn", "fail"]);
    expect(msg.edgefleet).toEqual({
      module: "classifier",
      version: "1.2.0",
      predictionId: expect.stringMatching(UUID),
    });
    expect(await green).toEqual({ fill: "green", shape: "dot", text: msg.payload.label });
  });

  it("scores an array of rows as one batch", async () => {
    const { score, out } = await loadScoreFlow(agent.server.url);
    const received = nextMessage(out);
    score.receive({ payload: [row, { ...row, temp: 10 }] });
    const msg = await received;
    expect(msg.payload).toHaveLength(2);
    expect(msg.edgefleet.predictionIds).toHaveLength(2);
  });

  it("takes the module from msg.module when the node names none", async () => {
    const { score, out } = await loadScoreFlow(agent.server.url, "");
    const received = nextMessage(out);
    score.receive({ payload: row, module: "classifier" });
    expect((await received).edgefleet.module).toBe("classifier");
  });

  it("sends a Buffer as image bytes", async () => {
    const { score, out } = await loadScoreFlow(agent.server.url, "text-orientation");
    const received = nextMessage(out);
    score.receive({ payload: await readTextLinePng() });
    const msg = await received;
    expect(msg.payload.label).toBe("0");
    expect(msg.edgefleet.module).toBe("text-orientation");
  });

  it("routes the agent's refusals to Catch nodes with the agent's code and message", async () => {
    const { score, caught } = await loadScoreFlow(agent.server.url);
    const red = statusMatching(score, (status) => status.fill === "red");
    const received = nextMessage(caught);
    score.receive({ payload: { temp: "hot", humidity: 40, current: 2.5 } });
    const msg = await received;
    expect(msg.error.message).toMatch(/400.*temp/);
    expect(msg.edgefleet.error).toMatchObject({ code: "invalid_input", status: 400, offline: false });
    expect(await red).toEqual({ fill: "red", shape: "ring", text: "invalid_input" });
  });

  it("routes an unknown module and an image for a tabular module to Catch", async () => {
    const missing = await loadScoreFlow(agent.server.url, "nope");
    let received = nextMessage(missing.caught);
    missing.score.receive({ payload: row });
    expect((await received).edgefleet.error).toMatchObject({ code: "not_found", status: 404 });
    await helper.unload();

    const tabular = await loadScoreFlow(agent.server.url);
    received = nextMessage(tabular.caught);
    tabular.score.receive({ payload: Buffer.from([1, 2, 3]) });
    expect((await received).edgefleet.error).toMatchObject({ code: "unsupported_media_type", status: 415 });
  });

  it("refuses payloads and messages it cannot score without calling the agent", async () => {
    const { score, caught } = await loadScoreFlow(agent.server.url, "");
    for (const msg of [
      { payload: row },
      { payload: "text", module: "classifier" },
      { payload: [], module: "classifier" },
    ]) {
      const received = nextMessage(caught);
      score.receive(msg);
      expect((await received).edgefleet.error.code).toBe("invalid_input");
    }
  });

  it("shows an offline agent as a yellow ring and reports it to Catch", async () => {
    const { score, caught } = await loadScoreFlow(await deadUrl());
    const yellow = statusMatching(score, (status) => status.fill === "yellow");
    const received = nextMessage(caught);
    score.receive({ payload: row });
    const msg = await received;
    expect(msg.error.message).toMatch(/unreachable/);
    expect(msg.edgefleet.error).toMatchObject({ code: "offline", offline: true });
    expect(await yellow).toEqual({ fill: "yellow", shape: "ring", text: "agent offline" });
  });
});

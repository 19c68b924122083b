import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { call, type Harness } from "../../agent/http/test-harness.js";
import { classifierModule } from "../../agent/runtime/test-modules.js";
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

let agent: Harness;
beforeAll(async () => {
  agent = await startAgent([await classifierModule("1.2.0")]);
  await startHelperServer();
});
afterEach(async () => {
  await helper.unload();
});
afterAll(async () => {
  await stopHelperServer();
  await agent.close();
});

async function loadFeedback(url: string, kind = "label") {
  await helper.load(
    [nodes.agent, nodes.feedback],
    onTab(
      [
        { id: "feedback", type: "edgefleet feedback", agent: "agent", kind, wires: [["out"]] },
        { id: "out", type: "helper" },
        { id: "catch", type: "catch", scope: ["feedback"], wires: [["caught"]] },
        { id: "caught", type: "helper" },
      ],
      [agentConfig(url)],
    ),
  );
  return {
    feedback: helper.getNode("feedback"),
    out: helper.getNode("out"),
    caught: helper.getNode("caught"),
  };
}

async function scoreOne(): Promise<{ id: string; label: string }> {
  const reply = await call(`${agent.server.url}/v1/modules/classifier/score`, "POST", {
    features: { temp: 31, humidity: 40, current: 2.5 },
  });
  const body = reply.body as { predictionIds: string[]; predictions: { label: string }[] };
  return { id: body.predictionIds[0]!, label: body.predictions[0]!.label };
}

describe("edgefleet feedback", () => {
  it("sends the label for msg.edgefleet.predictionId and passes on the agent's answer", async () => {
    const { feedback, out } = await loadFeedback(agent.server.url);
    const { id, label } = await scoreOne();
    const status = statusMatching(feedback, (s) => s.fill === "green");
    const received = nextMessage(out);
    feedback.receive({ payload: label, edgefleet: { module: "classifier", predictionId: id } });
    expect((await received).payload).toEqual({
      predictionId: id,
      module: "classifier",
      version: "1.2.0",
      predicted: label,
      correct: true,
    });
    expect(await status).toEqual({ fill: "green", shape: "dot", text: "correct" });
    expect(agent.recorder.takeWindow()[0]).toMatchObject({ labelled: 1, correct: 1 });
  });

  it("takes msg.predictionId and reports a wrong label", async () => {
    const { feedback, out } = await loadFeedback(agent.server.url);
    const { id, label } = await scoreOne();
    const received = nextMessage(out);
    feedback.receive({ payload: label === "ok" ? "fail" : "ok", predictionId: id });
    expect((await received).payload).toMatchObject({ predictionId: id, correct: false });
  });

  it("routes an unknown prediction id to Catch with the agent's reason", async () => {
    const { feedback, caught } = await loadFeedback(agent.server.url);
    const red = statusMatching(feedback, (s) => s.fill === "red");
    const received = nextMessage(caught);
    feedback.receive({ payload: "ok", predictionId: "no-such-id" });
    const msg = await received;
    expect(msg.error.message).toMatch(/404.*unknown or expired/);
    expect(msg.edgefleet.error).toMatchObject({ code: "not_found", status: 404 });
    expect(await red).toEqual({ fill: "red", shape: "ring", text: "not_found" });
  });

  it("refuses a message without a prediction id or with a value that is no number", async () => {
    const labels = await loadFeedback(agent.server.url);
    let received = nextMessage(labels.caught);
    labels.feedback.receive({ payload: "ok" });
    expect((await received).error.message).toMatch(/no prediction id/);
    await helper.unload();

    const values = await loadFeedback(agent.server.url, "value");
    received = nextMessage(values.caught);
    values.feedback.receive({ payload: "high", predictionId: "x" });
    expect((await received).error.message).toMatch(/true value as a number/);
  });

  it("shows an offline agent as a yellow ring", async () => {
    const { feedback, caught } = await loadFeedback(await deadUrl());
    const yellow = statusMatching(feedback, (s) => s.fill === "yellow");
    const received = nextMessage(caught);
    feedback.receive({ payload: "ok", predictionId: "x" });
    expect((await received).edgefleet.error).toMatchObject({ offline: true });
    expect(await yellow).toEqual({ fill: "yellow", shape: "ring", text: "agent offline" });
  });
});

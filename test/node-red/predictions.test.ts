import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startScoringServer } from "../../agent/http/server.js";
import { call, type Harness } from "../../agent/http/test-harness.js";
import { classifierModule } from "../../agent/runtime/test-modules.js";
import { silentLogger } from "../../lib/log.js";
import {
  agentConfig,
  helper,
  nextMessage,
  nodes,
  onTab,
  startAgent,
  startHelperServer,
  statusMatching,
  stopHelperServer,
} from "./support.js";

const row = { temp: 31, humidity: 40, current: 2.5 };

let agent: Harness;
beforeAll(async () => {
  agent = await startAgent([await classifierModule("1.2.0")]);
  helper.settings({ edgefleetPredictionsBackoff: { minBackoffMs: 20, maxBackoffMs: 100 } });
  await startHelperServer();
});
afterEach(async () => {
  await helper.unload();
});
afterAll(async () => {
  await stopHelperServer();
  await agent.close();
});

async function loadListener(url: string, module = "classifier") {
  await helper.load(
    [nodes.agent, nodes.predictions],
    onTab(
      [
        { id: "listen", type: "edgefleet predictions", agent: "agent", module, wires: [["out"]] },
        { id: "out", type: "helper" },
      ],
      [agentConfig(url)],
    ),
  );
  return { listen: helper.getNode("listen"), out: helper.getNode("out") };
}

const green = (status: { fill?: string }) => status.fill === "green";

describe("edgefleet predictions", () => {
  it("sends one message per prediction the agent makes for the module", async () => {
    const { listen, out } = await loadListener(agent.server.url);
    expect(await statusMatching(listen, green)).toEqual({
      fill: "green",
      shape: "dot",
      text: "listening v1.2.0",
    });
    const received = nextMessage(out);
    const scored = await call(`${agent.server.url}/v1/modules/classifier/score`, "POST", { features: row });
    const answer = scored.body as { predictions: unknown[]; predictionIds: string[] };
    const msg = await received;
    expect(msg.topic).toBe("classifier");
    expect(msg.payload).toEqual(answer.predictions[0]);
    expect(msg.inputs).toEqual(row);
    expect(msg.edgefleet).toMatchObject({
      module: "classifier",
      version: "1.2.0",
      predictionId: answer.predictionIds[0],
    });
  });

  it("waits for a module the agent does not serve yet", async () => {
    const { listen } = await loadListener(agent.server.url, "later");
    const status = await statusMatching(listen, (s) => s.fill === "yellow");
    expect(status).toEqual({ fill: "yellow", shape: "dot", text: "waiting for module" });
  });

  it("stops with a red ring when the agent refuses the module name", async () => {
    const { listen } = await loadListener(agent.server.url, "Not A Name");
    expect(await statusMatching(listen, (s) => s.fill === "red")).toEqual({
      fill: "red",
      shape: "ring",
      text: "invalid_input",
    });
  });

  it("shows the agent going away and reconnects when it is back", async () => {
    const own = await startAgent([await classifierModule("2.0.0")]);
    const { port } = own.server;
    const { listen, out } = await loadListener(own.server.url);
    await statusMatching(listen, green);
    const offline = statusMatching(listen, (s) => s.fill === "yellow" && /^offline/.test(s.text));
    await own.server.close();
    expect((await offline).shape).toBe("ring");

    // The same port again, as an agent restarting would; the table is still the old one's.
    const back = statusMatching(listen, green);
    const restarted = await startScoringServer({
      port,
      table: own.table,
      recorder: own.recorder,
      log: silentLogger,
      agentVersion: "test",
    });
    try {
      expect((await back).text).toBe("listening v2.0.0");
      const received = nextMessage(out);
      await call(`${restarted.url}/v1/modules/classifier/score`, "POST", { features: row });
      expect((await received).edgefleet.version).toBe("2.0.0");
    } finally {
      await helper.unload();
      await restarted.close();
      await own.close().catch(() => {});
    }
  });
});

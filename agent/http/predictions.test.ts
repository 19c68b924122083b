import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/log.js";
import { PredictionLog } from "../runtime/prediction-log.js";
import { classifierModule } from "../runtime/test-modules.js";
import { createScoringApp } from "./app.js";
import { predictionsRoutes } from "./routes/predictions.js";
import { call, type Harness, startHarness } from "./test-harness.js";

interface SseEvent {
  event: string;
  id?: string;
  data: unknown;
}

/** Reads SSE frames from a response body; comments come back as `{ event: "comment" }`. */
function sseReader(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const queue: SseEvent[] = [];
  return {
    async next(): Promise<SseEvent | undefined> {
      while (queue.length === 0) {
        const end = buffered.indexOf("\n\n");
        if (end >= 0) {
          const lines = buffered.slice(0, end).split("\n");
          buffered = buffered.slice(end + 2);
          if (lines.every((line) => line.startsWith(":"))) {
            queue.push({ event: "comment", data: lines.join("\n") });
            continue;
          }
          const field = (name: string) =>
            lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
          const id = field("id");
          queue.push({
            event: field("event") ?? "message",
            data: JSON.parse(field("data")!),
            ...(id ? { id } : {}),
          });
          continue;
        }
        const { done, value } = await reader.read();
        if (done) return undefined;
        buffered += decoder.decode(value, { stream: true });
      }
      return queue.shift();
    },
    cancel: () => reader.cancel(),
  };
}

let h: Harness;
const shared = new PredictionLog();
beforeAll(async () => {
  h = await startHarness([await classifierModule("1.2.0")], { predictions: shared });
});
afterAll(async () => {
  await h.close();
});

const rows = [
  { temp: 31, humidity: 40, current: 2.5 },
  { temp: 19, humidity: 55, vibration: 0.1, current: 1 },
];

describe("GET /v1/modules/{name}/predictions", () => {
  it("streams each scored row with its prediction id, features and version", async () => {
    const response = await fetch(`${h.server.url}/v1/modules/classifier/predictions`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = sseReader(response);
    expect(await events.next()).toEqual({ event: "ready", data: { module: "classifier", version: "1.2.0" } });

    const scored = await call(`${h.server.url}/v1/modules/classifier/score`, "POST", { instances: rows });
    const { predictions, predictionIds } = scored.body as { predictions: unknown[]; predictionIds: string[] };
    for (const [i, row] of rows.entries()) {
      const event = await events.next();
      expect(event?.event).toBe("prediction");
      expect(event?.id).toBe(predictionIds[i]);
      expect(event?.data).toMatchObject({
        id: predictionIds[i],
        module: "classifier",
        version: "1.2.0",
        prediction: predictions[i],
        inputs: row,
      });
    }
    await events.cancel();
  });

  it("does not stream refused requests or other modules' predictions", async () => {
    const response = await fetch(`${h.server.url}/v1/modules/classifier/predictions`);
    const events = sseReader(response);
    await events.next();
    const refused = await call(`${h.server.url}/v1/modules/classifier/score`, "POST", {
      features: { temp: "x" },
    });
    expect(refused.status).toBe(400);
    const scored = await call(`${h.server.url}/v1/modules/classifier/score`, "POST", { features: rows[0] });
    const id = (scored.body as { predictionIds: string[] }).predictionIds[0];
    expect((await events.next())?.id).toBe(id);
    await events.cancel();
  });

  it("lets a flow listen before its module is served", async () => {
    const response = await fetch(`${h.server.url}/v1/modules/not-yet/predictions`);
    expect(response.status).toBe(200);
    const events = sseReader(response);
    expect(await events.next()).toEqual({ event: "ready", data: { module: "not-yet", version: null } });
    await events.cancel();
  });

  it("refuses names that cannot be modules and bad buffer sizes", async () => {
    for (const path of [
      "Bad%20Name/predictions",
      "classifier/predictions?buffer=0",
      "classifier/predictions?buffer=x",
    ]) {
      const reply = await call(`${h.server.url}/v1/modules/${path}`);
      expect(reply.status).toBe(400);
      expect((reply.body as { error: { code: string } }).error.code).toBe("invalid_input");
    }
  });

  it("drops the oldest predictions for a reader that falls behind, and says how many", async () => {
    const predictions = new PredictionLog();
    const app = createScoringApp({
      table: h.table,
      recorder: h.recorder,
      log: silentLogger,
      agentVersion: "test",
      predictions,
    });
    // In process the body is only produced as it is read, so not reading is a reader that stalls.
    const events = sseReader(await app.request("/v1/modules/classifier/predictions?buffer=2"));
    await events.next();
    const five = Array.from({ length: 5 }, (_, i) => ({ ...rows[0]!, temp: 20 + i }));
    const scored = await app.request("/v1/modules/classifier/score", {
      method: "POST",
      body: JSON.stringify({ instances: five }),
    });
    const ids = ((await scored.json()) as { predictionIds: string[] }).predictionIds;
    const seen: SseEvent[] = [];
    while (seen.filter((event) => event.event === "prediction").length < 2) seen.push((await events.next())!);
    expect(seen).toEqual([
      { event: "dropped", data: { count: 3 } },
      expect.objectContaining({ event: "prediction", id: ids[3] }),
      expect.objectContaining({ event: "prediction", id: ids[4] }),
    ]);
    await events.cancel();
    expect(predictions.subscriberCount).toBe(0);
  });

  it("sends heartbeat comments on a quiet stream", async () => {
    const predictions = new PredictionLog();
    const app = predictionsRoutes(
      { table: h.table, recorder: h.recorder, log: silentLogger, agentVersion: "test", predictions },
      { heartbeatMs: 5 },
    );
    const events = sseReader(await app.request("/v1/modules/classifier/predictions"));
    expect((await events.next())?.event).toBe("ready");
    expect(await events.next()).toEqual({ event: "comment", data: ": heartbeat" });
    await events.cancel();
  });

  it("ends open streams when the server closes", async () => {
    const own = await startHarness([await classifierModule()]);
    const events = sseReader(await fetch(`${own.server.url}/v1/modules/classifier/predictions`));
    await events.next();
    await own.close();
    expect(await events.next()).toBeUndefined();
  });
});

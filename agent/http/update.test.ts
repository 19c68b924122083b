import { Tensor } from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifierModule } from "../runtime/test-modules.js";
import { call, type Harness, startHarness } from "./test-harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness([await classifierModule("1.0.0", 1)]);
});
afterAll(() => h.close());

const body = { inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4] }] };

describe("updating a module under load", () => {
  it("swaps versions with zero failed requests and disposes the old session", async () => {
    const url = `${h.server.url}/v2/models/classifier/infer`;
    const served = new Map<string, number>();
    const failures: unknown[] = [];
    let stop = false;
    let total = 0;
    let swapped = false;
    const worker = async () => {
      while (!stop) {
        const reply = await call(url, "POST", body);
        if (reply.status !== 200) {
          failures.push(reply);
          continue;
        }
        const version = (reply.body as { model_version: string }).model_version;
        served.set(version, (served.get(version) ?? 0) + 1);
        total++;
        if (swapped && (served.get("2.0.0") ?? 0) >= 50) stop = true;
      }
    };
    const workers = Array.from({ length: 4 }, worker);

    // Let traffic run on 1.0.0, then make-before-break: load and warm 2.0.0, swap, drain 1.0.0.
    while (total < 50) await new Promise((resolve) => setImmediate(resolve));
    const next = await h.load(await classifierModule("2.0.0", 2));
    // Stand in for a slow request that is still on 1.0.0 when the swap happens.
    const slow = h.table.get("classifier")!;
    slow.acquire();
    const previous = h.table.activate(next);
    swapped = true;
    expect(previous).toBe(slow);
    const drained = previous!.drainAndDispose();
    await Promise.all(workers);
    // New traffic went to 2.0.0 while the held lease kept 1.0.0's session alive and usable.
    expect(previous!.state).toBe("draining");
    const late = await previous!.run({
      features: new Tensor("float32", Float32Array.of(1, 2, 3, 4), [1, 4]),
    });
    expect(late.logits!.dims).toEqual([1, 3]);
    previous!.release();

    expect(failures).toEqual([]);
    expect(await drained).toEqual({ timedOut: false });
    expect(previous!.state).toBe("disposed");
    expect(previous!.inFlight).toBe(0);
    expect(served.get("1.0.0")).toBeGreaterThanOrEqual(50);
    expect(served.get("2.0.0")).toBeGreaterThanOrEqual(50);
    expect((await call(`${h.server.url}/v2/models/classifier`)).body).toMatchObject({ versions: ["2.0.0"] });
  });

  it("stops serving a removed module with 404 and keeps the server up", async () => {
    const removed = h.table.remove("classifier");
    await removed?.drainAndDispose();
    const reply = await call(`${h.server.url}/v2/models/classifier/infer`, "POST", body);
    expect(reply).toMatchObject({ status: 404, body: { error: 'model "classifier" is not served here' } });
    expect((await call(`${h.server.url}/v2/health/ready`)).status).toBe(503);
    expect((await call(`${h.server.url}/v2/health/live`)).status).toBe(200);
  });
});

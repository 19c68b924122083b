/** The live rollout view against a real hub: it draws one bar per wave and returns once the rollout stops. */
import { Writable } from "node:stream";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildMlpClassifier } from "../../modules/onnx/models.js";
import { startTestHub, type TestHub } from "../../test/support/hub.js";
import { watchDeployment } from "./deployment-watch.js";

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub?.dispose();
});

it("shows waves and counts, and returns the final state of a rollout", async () => {
  const model = buildMlpClassifier({ inputSize: 3, hiddenSizes: [4], classes: 2, seed: 3 });
  const registered = await hub.client.request<{ version: number }>(
    "POST",
    "/api/v1/models/w/versions",
    model.bytes,
  );
  await hub.client.post("/api/v1/modules", {
    name: "w",
    version: "1.0.0",
    model: { name: "w", version: registered.version },
  });
  for (const id of ["w-1", "w-2"]) await hub.client.post("/api/v1/devices", { id, tags: { site: "w" } });
  const d = await hub.client.post<{ id: string }>("/api/v1/deployments", {
    module: "w",
    version: "1.0.0",
    selector: { tags: { site: "w" } },
    waves: [{ percent: 50 }, { percent: 100 }],
    bakeMs: 60_000,
  });
  const paused = hub.client.post(`/api/v1/deployments/${d.id}/abort`, {});
  await paused;
  let drawn = "";
  const out = new Writable({
    write(chunk, _encoding, done) {
      drawn += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  const final = await watchDeployment(hub.client, d.id, { intervalMs: 50, out });
  expect(final.status).toBe("aborted");
  expect(drawn).toContain("wave 1");
  expect(drawn).toContain("wave 2");
  expect(drawn).toMatch(/w@1\.0\.0 aborted: targeted 2/);
});

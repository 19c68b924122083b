/**
 * Following a run survives the hub going away: the stream drops when the hub stops, the follower
 * reconnects to the restarted hub (same port and data), and the run's end still reaches it, with
 * each log line shown once.
 */
import { afterAll, expect, it } from "vitest";
import type { LogLine, Run } from "../hub-api/training.js";
import { startTestHub, type TestHub } from "../test/support/hub.js";
import { waitFor } from "../test/support/wait.js";
import { blobs } from "../training/synthetic.js";
import { followRun, type RunStatusEvent } from "./run-follow.js";

const hubs: TestHub[] = [];
afterAll(async () => {
  for (const hub of hubs.reverse()) await hub.dispose();
});

it("reconnects after a hub restart and returns the run's final state", async () => {
  // No trainer: the run stays queued until it is cancelled.
  const first = await startTestHub({ trainer: false, keepData: true });
  hubs.push(first);
  const rows = blobs(60, 2);
  const csv = `x1,x2,shade,label\n${rows.map((r) => `${r.x1},${r.x2},${r.shade},${r.label}`).join("\n")}\n`;
  await first.client.request(
    "POST",
    "/api/v1/datasets/blobs/versions?format=csv&target=label&task=classification",
    new TextEncoder().encode(csv),
    { "content-type": "text/csv" },
  );
  const run = await first.client.post<Run>("/api/v1/runs", {
    experiment: "follow",
    dataset: { name: "blobs" },
    task: "classification",
    target: "label",
    recipe: "logistic",
  });

  const statuses: string[] = [];
  const lines: LogLine[] = [];
  const following = followRun(
    first.client,
    run.id,
    {
      status: (e: RunStatusEvent) => statuses.push(e.status),
      log: (line) => lines.push(line),
      metric: () => undefined,
      progress: () => undefined,
    },
    { retryMs: 200 },
  );
  await waitFor("the first status event", async () => statuses.includes("queued"));

  const port = Number(new URL(first.url).port);
  await first.close();
  const second = await startTestHub({ trainer: false, dataDir: first.dataDir, port });
  hubs.push(second);
  await second.client.post(`/api/v1/runs/${run.id}/cancel`, {});

  const final = await following;
  expect(final?.status).toBe("cancelled");
  // The end arrives either as the new stream's first status or through the run itself.
  expect(statuses[0]).toBe("queued");
  const seqs = lines.map((l) => l.seq);
  expect(new Set(seqs).size).toBe(seqs.length);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
}, 120_000);

it("stops following, not the run, when its signal aborts", async () => {
  const hub = hubs[hubs.length - 1]!;
  const run = await hub.client.post<Run>("/api/v1/runs", {
    experiment: "follow",
    dataset: { name: "blobs" },
    task: "classification",
    target: "label",
    recipe: "logistic",
  });
  const controller = new AbortController();
  const following = followRun(
    hub.client,
    run.id,
    {
      status: () => controller.abort(),
      log: () => undefined,
      metric: () => undefined,
      progress: () => undefined,
    },
    { signal: controller.signal },
  );
  expect(await following).toBeUndefined();
  expect((await hub.client.get<Run>(`/api/v1/runs/${run.id}`)).status).toBe("queued");
});

it("a run that does not exist is an error, not an endless retry", async () => {
  const hub = hubs[hubs.length - 1]!;
  const handlers = {
    status: () => undefined,
    log: () => undefined,
    metric: () => undefined,
    progress: () => undefined,
  };
  await expect(followRun(hub.client, "run_nope", handlers)).rejects.toMatchObject({ status: 404 });
});

/**
 * The whole drift loop with real parts: a hub (PGlite, embedded broker, the in-hub trainer worker)
 * trains a champion from an uploaded dataset, packages it with an automatic manifest (monitoring
 * from the training baseline, samples allowed), deploys it to two real agent processes; shifted
 * rows (with a changed concept: the label now follows x2 alone where x1 is large) stream through
 * the agents' score route with true labels on their feedback route; the agents' drift summaries
 * make the monitor fire; the hub asks for samples, trains a challenger on the dataset plus the
 * labelled device rows, finds it beats the champion on held-out device rows, packages 1.0.1 and
 * starts a canary deployment (one agent); alias champion and the monitor stay on the champion until
 * the canary completes (both waves baked), then move to the challenger and 1.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, spawnAgent } from "../../lib/agent-process.js";
import { seeded } from "../support/drift-windows.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { getJson, waitFor } from "../support/wait.js";

const random = seeded(42);
function normal(mean = 0): number {
  const u = Math.max(random(), 1e-12);
  return mean + Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
/** Training distribution: label = x1 + x2 > 0. */
function baseRow() {
  const x1 = normal();
  const x2 = normal();
  return { x1, x2, label: x1 + x2 > 0 ? "yes" : "no" };
}
/** After the shift: x1 around 3, and there the label follows x2 alone. */
function shiftedRow() {
  const x1 = normal(3);
  const x2 = normal();
  return { x1, x2, label: x2 > 0 ? "yes" : "no" };
}

interface Step {
  step: string;
  status: string;
  message: string;
}
interface Cycle {
  id: string;
  status: string;
  state: Record<string, unknown>;
  steps: Step[];
}

/** Long enough to look at the canary before wave 2, short enough to let the test see it complete. */
const CANARY_BAKE_MS = 15_000;
let hub: TestHub;
let agents: AgentProcess[] = [];

async function servedVersion(agent: AgentProcess): Promise<string | undefined> {
  const body = await getJson<{ modules: { name: string; version: string }[] }>(
    `${agent.scoringUrl}/v1/modules`,
  );
  return body?.modules.find((m) => m.name === "churn")?.version;
}

/** Scores shifted rows on every agent and sends each row's true label as feedback. */
async function streamShifted(rowsPerAgent: number): Promise<void> {
  await Promise.all(
    agents.map(async (agent) => {
      const rows = Array.from({ length: rowsPerAgent }, shiftedRow);
      const response = await fetch(`${agent.scoringUrl}/v1/modules/churn/score`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ instances: rows.map(({ x1, x2 }) => ({ x1, x2 })) }),
      });
      if (!response.ok) throw new Error(`score: ${response.status} ${await response.text()}`);
      const { predictionIds } = (await response.json()) as { predictionIds: string[] };
      await Promise.all(
        predictionIds.map((predictionId, i) =>
          fetch(`${agent.scoringUrl}/v1/feedback`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ predictionId, label: rows[i]!.label }),
          }).then((r) => r.arrayBuffer()),
        ),
      );
    }),
  );
}

beforeAll(async () => {
  // The in-hub trainer worker trains both the champion and the challenger.
  hub = await startTestHub({ trainer: true });
  const csv = `x1,x2,label\n${Array.from({ length: 600 }, baseRow)
    .map((r) => `${r.x1},${r.x2},${r.label}`)
    .join("\n")}\n`;
  await hub.client.request(
    "POST",
    "/api/v1/datasets/churn/versions?format=csv&target=label&task=classification",
    new TextEncoder().encode(csv),
    { "content-type": "text/csv" },
  );
  const devices: { id: string; secret: string }[] = [];
  for (const id of ["loop-a", "loop-b"]) {
    const { secret } = await hub.client.post<{ secret: string }>("/api/v1/devices", {
      id,
      tags: { fleet: "retrain" },
    });
    devices.push({ id, secret });
  }
  agents = await Promise.all(
    devices.map((d) =>
      spawnAgent({
        hubUrl: hub.url,
        mqttUrl: hub.mqttUrl,
        deviceId: d.id,
        secret: d.secret,
        trustKey: hub.parts.signing.publicKeyPem,
        telemetryIntervalMs: 1_000,
      }),
    ),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await hub?.dispose();
});

describe("drift → samples → retrain → challenger → canary", () => {
  it("trains a champion in the hub, packages it with monitoring and serves it on both agents", async () => {
    const run = await hub.client.post<{ id: string }>("/api/v1/runs", {
      experiment: "churn",
      dataset: { name: "churn" },
      task: "classification",
      target: "label",
      recipe: "gbt",
      register: { model: "churn", aliases: ["champion"] },
    });
    const done = await waitFor(
      "the champion's run",
      async () => {
        const view = await hub.client.get<{ status: string; error?: unknown }>(`/api/v1/runs/${run.id}`);
        if (view.status === "failed") throw new Error(`run failed: ${JSON.stringify(view.error)}`);
        return view.status === "succeeded" ? view : undefined;
      },
      120_000,
      250,
    );
    expect(done.status).toBe("succeeded");
    const module = await hub.client.post<{
      version: string;
      manifest: { monitoring?: { samples?: unknown } };
    }>("/api/v1/models/churn/versions/champion/package", { samples: { allowed: true, maxPerWindow: 100 } });
    expect(module.version).toBe("1.0.0");
    expect(module.manifest.monitoring?.samples).toEqual({ allowed: true, maxPerWindow: 100 });
    await hub.client.post("/api/v1/deployments", {
      module: "churn",
      version: "1.0.0",
      selector: { tags: { fleet: "retrain" } },
    });
    for (const agent of agents)
      await waitFor("1.0.0 served", async () => (await servedVersion(agent)) === "1.0.0", 60_000);
  }, 180_000);

  it("fires on shifted traffic, collects labelled samples, retrains, and canaries a better challenger", async () => {
    const monitor = await hub.client.post<{ id: string }>("/api/v1/monitors", {
      name: "churn-retrain",
      module: "churn",
      version: "1.0.0",
      selector: { tags: { fleet: "retrain" } },
      scales: [1, 4],
      minRows: 50,
      intervalMs: 1_000,
      action: {
        kind: "retrain",
        retrain: {
          dataset: "churn",
          margin: 0.1,
          minLabelled: 160,
          samplesPerWindow: 100,
          sampleWindows: 30,
          collectTimeoutMs: 120_000,
          canary: { count: 1, bakeMs: CANARY_BAKE_MS },
        },
      },
    });

    // Stream until the cycle has its samples (the alarm and the collect-samples command come meanwhile).
    const cycles = () => hub.client.get<{ cycles: Cycle[] }>(`/api/v1/monitors/${monitor.id}/retraining`);
    await waitFor(
      "labelled samples collected and a run submitted",
      async () => {
        await streamShifted(40);
        const [cycle] = (await cycles()).cycles;
        if (cycle?.status === "failed") throw new Error(`cycle failed: ${JSON.stringify(cycle.steps)}`);
        return cycle && cycle.status !== "collecting";
      },
      150_000,
      300,
    );
    const alerts = await hub.client.get<{ alerts: { message: string }[] }>(
      `/api/v1/alerts?monitor=${monitor.id}`,
    );
    expect(alerts.alerts.length).toBeGreaterThanOrEqual(1);

    const canary = await waitFor(
      "the canary deployment",
      async () => {
        const [cycle] = (await cycles()).cycles;
        if (cycle && ["succeeded", "rejected", "failed", "rolled-back", "aborted"].includes(cycle.status))
          throw new Error(`cycle ended ${cycle.status}: ${JSON.stringify(cycle.steps, null, 1)}`);
        return cycle?.status === "canary" ? cycle : undefined;
      },
      180_000,
      250,
    );
    expect(
      canary.steps.map((s) => s.step),
      JSON.stringify(canary.steps, null, 1),
    ).toEqual([
      "started",
      "samples-requested",
      "run-submitted",
      "run-succeeded",
      "challenger-won",
      "packaged",
      "canary-created",
    ]);
    // While the canary bakes: one agent released, champion and monitor still on the old version.
    const deployment = await hub.client.get<{
      strategy: string;
      moduleVersion: string;
      released: number;
    }>(`/api/v1/deployments/${canary.state.deploymentId}`);
    expect(deployment).toMatchObject({ strategy: "canary", moduleVersion: "1.0.1", released: 1 });
    expect(await servedVersion(agents[1]!)).toBe("1.0.0");
    const before = await hub.client.get<{ version: number }>("/api/v1/models/churn/versions/champion");
    expect(before.version).toBe(canary.state.champion);
    expect(
      (await hub.client.get<{ moduleVersion: string }>(`/api/v1/monitors/${monitor.id}`)).moduleVersion,
    ).toBe("1.0.0");
    const scores = canary.state.scores as {
      champion: { value: number };
      challenger: { value: number };
      holdout: number;
    };
    expect(scores.challenger.value).toBeGreaterThanOrEqual(scores.champion.value + 0.1);

    const run = await hub.client.get<{
      spec: { trigger: { kind: string; monitorId: string; cycleId: string }; extraRows?: unknown };
    }>(`/api/v1/runs/${canary.state.runId}`);
    expect(run.spec.trigger).toEqual({ kind: "monitor", monitorId: monitor.id, cycleId: expect.any(String) });
    expect(run.spec.extraRows).toBeDefined();
    // The canary agent (first in id order) gets the challenger.
    await waitFor(
      "the canary serves 1.0.1",
      async () => (await servedVersion(agents[0]!)) === "1.0.1",
      60_000,
    );

    // Both waves bake without a failed gate: the cycle succeeds and only then the alias moves.
    const finished = await waitFor(
      "the canary to complete",
      async () => {
        const [cycle] = (await cycles()).cycles;
        if (cycle && ["rejected", "failed", "rolled-back", "aborted"].includes(cycle.status))
          throw new Error(`cycle ended ${cycle.status}: ${JSON.stringify(cycle.steps, null, 1)}`);
        return cycle?.status === "succeeded" ? cycle : undefined;
      },
      4 * CANARY_BAKE_MS + 60_000,
      500,
    );
    expect(finished.steps.at(-1)!.step).toBe("canary-completed");
    const champion = await hub.client.get<{ version: number }>("/api/v1/models/churn/versions/champion");
    expect(champion.version).toBe(finished.state.challenger);
    const watched = await hub.client.get<{ moduleVersion: string }>(`/api/v1/monitors/${monitor.id}`);
    expect(watched.moduleVersion).toBe("1.0.1");
    await waitFor(
      "both agents serve 1.0.1",
      async () => (await servedVersion(agents[1]!)) === "1.0.1",
      60_000,
    );
    expect(await servedVersion(agents[0]!)).toBe("1.0.1");
  }, 400_000);
});
